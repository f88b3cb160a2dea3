import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { ValidationError } from "./errors.js";
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

/** `schema` or null: how every optional field of a stored job or its view is written. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Milliseconds since the epoch of an ISO-8601 timestamp a job carries; `ValidationError` naming `field` otherwise. */
export function isoMs(value: string, field: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new ValidationError(`Expected an ISO-8601 ${field} but received ${JSON.stringify(value)}`);
  }
  return ms;
}

/** One try at delivering a job's webhook: the HTTP status it got, or why it got none. */
export const WebhookAttemptSchema = Type.Object({
  at: Type.String(),
  status: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
});
export type WebhookAttempt = Static<typeof WebhookAttemptSchema>;

export const WEBHOOK_STATES = ["pending", "delivered", "failed"] as const;

/**
 * The webhook a job notifies when it ends. `pending` until a delivery gets a 2xx (`delivered`) or
 * the retries run out (`failed`); `nextAttemptAt` is when a dispatcher may try next (null once it is
 * settled, and while the job still runs).
 */
export const WebhookStateSchema = Type.Object({
  url: Type.String(),
  state: Type.Union(WEBHOOK_STATES.map((s) => Type.Literal(s))),
  attempts: Type.Array(WebhookAttemptSchema),
  nextAttemptAt: Nullable(Type.String()),
});
export type WebhookState = Static<typeof WebhookStateSchema>;

/** The `Idempotency-Key` a job was created under, and a digest of the request that carried it. */
export const JobIdempotencySchema = Type.Object({
  key: Type.String(),
  fingerprint: Type.String(),
  expiresAt: Type.String(),
});
export type JobIdempotency = Static<typeof JobIdempotencySchema>;

/** The job as stored. Timestamps are ISO-8601 strings. */
export const JobSchema = Type.Object({
  id: Type.String(),
  /** The name of the API key that created the job; null when the API runs without keys. */
  owner: Nullable(Type.String()),
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
  /** The run that last claimed the job (a fresh id per claim); null until the first claim. */
  runId: Nullable(Type.String()),
  error: Nullable(JobErrorSchema),
  timings: JobTimingsSchema,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  startedAt: Nullable(Type.String()),
  finishedAt: Nullable(Type.String()),
  webhook: Nullable(WebhookStateSchema),
  idempotency: Nullable(JobIdempotencySchema),
});
export type Job = Static<typeof JobSchema>;

/** A stored job as read back: fields added after it was written get their empty values. */
export function withJobDefaults(stored: Omit<Job, "owner" | "runId" | "webhook" | "idempotency"> & Partial<Job>): Job {
  return {
    ...stored,
    owner: stored.owner ?? null,
    runId: stored.runId ?? null,
    webhook: stored.webhook ?? null,
    idempotency: stored.idempotency ?? null,
  };
}

/** Fields an update may change; `id`, `owner`, `op`, `input`, `idempotency` and `createdAt` are fixed at creation. */
export type JobPatch = Partial<
  Pick<
    Job,
    | "status"
    | "options"
    | "output"
    | "progress"
    | "attempts"
    | "runId"
    | "error"
    | "timings"
    | "startedAt"
    | "finishedAt"
    | "webhook"
  >
>;

/** Blob keys are derived from the job id, so a re-run overwrites instead of duplicating. */
export function inputKey(jobId: string): string {
  return `inputs/${jobId}`;
}

/** The claim a worker's run holds a job by: the delivery's attempt and a fresh run id. */
export interface JobRun {
  attempt: number;
  runId: string;
}

/**
 * One key per run (`outputs/<job>/<attempt>-<run id>.<format>`): a stale run that lost its job
 * writes and deletes only its own blob, never the one the job names, even when the run that took
 * over has the same attempt number. Readers take the key from `job.output.key`.
 */
export function outputKey(jobId: string, run: JobRun, format: string): string {
  return `outputs/${jobId}/${run.attempt}-${run.runId}.${format}`;
}

export function newQueuedJob(
  fields: Pick<Job, "id" | "op" | "options" | "input"> & Partial<Pick<Job, "owner" | "webhook" | "idempotency">>,
  now: Date,
): Job {
  const at = now.toISOString();
  return {
    owner: null,
    webhook: null,
    idempotency: null,
    ...fields,
    status: "queued",
    output: null,
    progress: 0,
    attempts: 0,
    runId: null,
    error: null,
    timings: {},
    createdAt: at,
    updatedAt: at,
    startedAt: null,
    finishedAt: null,
  };
}
