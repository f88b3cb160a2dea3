import { Type, type Static } from "@sinclair/typebox";
import {
  ImageInfoSchema,
  JobErrorSchema,
  JobSchema,
  JobTimingsSchema,
  Nullable,
  WebhookStateSchema,
  type Job,
} from "./job.js";

/**
 * The job as clients see it (the API's answers, the webhook's body): the stored job with the
 * result's URL instead of its blob key, and without its idempotency record and run id.
 */
export const JobViewSchema = Type.Object({
  id: Type.String(),
  owner: Nullable(Type.String({ description: "The API key that created the job; null without keys" })),
  op: JobSchema.properties.op,
  status: JobSchema.properties.status,
  options: Type.Record(Type.String(), Type.Unknown()),
  input: ImageInfoSchema,
  output: Nullable(
    Type.Object({
      width: Type.Integer(),
      height: Type.Integer(),
      format: Type.String(),
      bytes: Type.Integer(),
      url: Type.String(),
    }),
  ),
  progress: Type.Number(),
  attempts: Type.Integer(),
  error: Nullable(JobErrorSchema),
  timings: JobTimingsSchema,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  startedAt: Nullable(Type.String()),
  finishedAt: Nullable(Type.String()),
  webhook: Nullable(WebhookStateSchema),
});
export type JobView = Static<typeof JobViewSchema>;

export function jobPath(id: string): string {
  return `/v1/jobs/${id}`;
}

export function toJobView(job: Job): JobView {
  const { output, idempotency, runId, ...rest } = job;
  return {
    ...rest,
    output: output && {
      width: output.width,
      height: output.height,
      format: output.format,
      bytes: output.bytes,
      url: `${jobPath(job.id)}/result`,
    },
  };
}
