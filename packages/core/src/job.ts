import { Type, type Static } from "@sinclair/typebox";
import { OP_NAMES, OutputFormatSchema } from "./ops.js";

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINISHED_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "canceled"];

export function isFinished(status: JobStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

/**
 * Legal transitions. `running → queued` hands a job back when a worker releases it on shutdown;
 * `running → running` is a re-claim by a new attempt after the previous worker died.
 */
const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  queued: ["running", "failed", "canceled"],
  running: ["running", "queued", "succeeded", "failed", "canceled"],
  succeeded: [],
  failed: [],
  canceled: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export const ImageInfoSchema = Type.Object({
  width: Type.Integer(),
  height: Type.Integer(),
  format: Type.String({ description: "Detected (input) or encoded (output) format" }),
  bytes: Type.Integer(),
});
export type ImageInfo = Static<typeof ImageInfoSchema>;

export const JobErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
});
export type JobError = Static<typeof JobErrorSchema>;

/** Stage timings of the last attempt, in milliseconds. */
export const JobTimingsSchema = Type.Object({
  decodeMs: Type.Optional(Type.Number()),
  preMs: Type.Optional(Type.Number()),
  inferMs: Type.Optional(Type.Number()),
  postMs: Type.Optional(Type.Number()),
  encodeMs: Type.Optional(Type.Number()),
  totalMs: Type.Optional(Type.Number()),
});
export type JobTimings = Static<typeof JobTimingsSchema>;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** The job as stored. Timestamps are ISO-8601 strings. */
export const JobSchema = Type.Object({
  id: Type.String(),
  op: Type.Union(OP_NAMES.map((o) => Type.Literal(o))),
  status: Type.Union(JOB_STATUSES.map((s) => Type.Literal(s))),
  options: Type.Record(Type.String(), Type.Unknown()),
  input: ImageInfoSchema,
  output: Nullable(
    Type.Object({
      width: Type.Integer(),
      height: Type.Integer(),
      format: OutputFormatSchema,
      bytes: Type.Integer(),
      key: Type.String({ description: "Blob key of the result" }),
    }),
  ),
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  attempts: Type.Integer({ minimum: 0 }),
  error: Nullable(JobErrorSchema),
  timings: JobTimingsSchema,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  startedAt: Nullable(Type.String()),
  finishedAt: Nullable(Type.String()),
});
export type Job = Static<typeof JobSchema>;

/** Fields an update may change; `id`, `op`, `input` and `createdAt` are fixed at creation. */
export type JobPatch = Partial<
  Pick<
    Job,
    "status" | "options" | "output" | "progress" | "attempts" | "error" | "timings" | "startedAt" | "finishedAt"
  >
>;

/** Blob keys are derived from the job id, so a re-run overwrites instead of duplicating. */
export function inputKey(jobId: string): string {
  return `inputs/${jobId}`;
}

/**
 * One key per attempt: a stale run that lost its job to a newer attempt writes and deletes only its
 * own blob, never the one the job names. Readers take the key from `job.output.key`.
 */
export function outputKey(jobId: string, attempt: number, format: string): string {
  return `outputs/${jobId}/${attempt}.${format}`;
}

export function newQueuedJob(fields: Pick<Job, "id" | "op" | "options" | "input">, now: Date): Job {
  const at = now.toISOString();
  return {
    ...fields,
    status: "queued",
    output: null,
    progress: 0,
    attempts: 0,
    error: null,
    timings: {},
    createdAt: at,
    updatedAt: at,
    startedAt: null,
    finishedAt: null,
  };
}
