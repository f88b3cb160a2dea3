import { ImageInfoSchema, JobErrorSchema, JobSchema, JobTimingsSchema, type Job } from "@imagen/core";
import { Type, type Static } from "@sinclair/typebox";

/** The job as clients see it: the stored job, with the result's URL instead of its blob key. */
export const JobView = Type.Object({
  id: Type.String(),
  op: JobSchema.properties.op,
  status: JobSchema.properties.status,
  options: Type.Record(Type.String(), Type.Unknown()),
  input: ImageInfoSchema,
  output: Type.Union([
    Type.Object({
      width: Type.Integer(),
      height: Type.Integer(),
      format: Type.String(),
      bytes: Type.Integer(),
      url: Type.String(),
    }),
    Type.Null(),
  ]),
  progress: Type.Number(),
  attempts: Type.Integer(),
  error: Type.Union([JobErrorSchema, Type.Null()]),
  timings: JobTimingsSchema,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  startedAt: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
});
export type JobView = Static<typeof JobView>;

export function jobPath(id: string): string {
  return `/v1/jobs/${id}`;
}

export function toJobView(job: Job): JobView {
  const { output, ...rest } = job;
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
