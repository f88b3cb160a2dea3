import {
  AppError,
  expectedOutputSize,
  inputKey,
  isOpName,
  newJobId,
  newQueuedJob,
  OP_NAMES,
  parseOptions,
  ValidationError,
  type BlobStore,
  type CreateResult,
  type ImageLimits,
  type Job,
  type JobQueue,
  type JobStore,
  type Logger,
  type OpName,
  type OpOptions,
} from "@imagen/core";
import { probeImage, type ModelRegistry } from "@imagen/catalogue";
import { idempotencyClaim, replayOf, requestFingerprint, type RequestIdentity } from "./idempotency.js";
import { localRunProblems, type LocalRun } from "./local-run.js";
import { assertOptionsShape } from "./options-guard.js";
import { assertWithinQuotas, type Quotas } from "./quotas.js";
import { readStagedUpload, removeStagedUpload } from "./staged-upload.js";

export interface SubmitDeps {
  jobs: JobStore;
  queue: JobQueue;
  blobs: BlobStore;
  models: ModelRegistry;
  /** Set where this process runs the models (embedded worker): a job it could not run is refused, `OP_UNAVAILABLE`. */
  localRun: LocalRun | undefined;
  limits: ImageLimits;
  quotas: Quotas;
  /** Refuses a webhook URL the service must not call (`INVALID_WEBHOOK_URL`). */
  checkWebhookUrl: (url: string) => Promise<void>;
  log: Pick<Logger, "error">;
  now?: () => Date;
}

/** What a client asked for, before anything is checked: the multipart fields, or the JSON naming an upload. */
export interface Submission {
  op: string | undefined;
  /** The options as JSON text (the multipart field), or already parsed (the JSON body). */
  options: string | Record<string, unknown> | undefined;
  webhook: string | undefined;
  input: { file: Buffer | undefined } | { uploadId: string };
}

/** Who submits: the API key's name (null without keys) and the request's `Idempotency-Key`. */
export interface Caller {
  owner: string | null;
  idempotencyKey: string | undefined;
}

export interface Submitted {
  job: Job;
  /** The job an earlier request with the same `Idempotency-Key` made; nothing new was stored. */
  replayed: boolean;
}

function parseOp(raw: string | undefined): OpName {
  if (isOpName(raw)) return raw;
  throw new AppError(
    "UNKNOWN_OP",
    `Expected op to be one of ${OP_NAMES.join(", ")} but received ${raw === undefined ? "nothing" : JSON.stringify(raw)}`,
  );
}

function parseOptionsField(op: OpName, raw: Submission["options"], models: ModelRegistry): OpOptions {
  // A JSON body's options were parsed with the body (bounded there); they meet the same limits as the field.
  assertOptionsShape(typeof raw === "string" || raw === undefined ? (raw ?? "{}") : JSON.stringify(raw));
  let value: unknown;
  try {
    value = raw === undefined ? {} : typeof raw === "string" ? JSON.parse(raw) : raw;
  } catch {
    throw new ValidationError("Expected options to be a JSON object", { code: "INVALID_OPTIONS" });
  }
  const options = parseOptions(op, value);
  const known = models.list(op).map((m) => m.id);
  if (options.model !== undefined && !known.includes(options.model)) {
    throw new ValidationError(
      `Unknown model ${JSON.stringify(options.model)} for op ${op}; expected one of ${known.join(", ")}`,
      { code: "INVALID_OPTIONS", details: { option: "model" } },
    );
  }
  return options;
}

function requiredInput(input: Submission["input"]): RequestIdentity["input"] {
  if ("uploadId" in input) return input;
  if (!input.file) throw new ValidationError('Expected an image in the form field "file"', { code: "MISSING_FILE" });
  return { file: input.file };
}

/** `OP_UNAVAILABLE` saying why, when this process could not run the job (checked after the input is). */
async function assertRunnable(models: ModelRegistry, local: LocalRun, op: OpName, options: OpOptions): Promise<void> {
  const problems = await localRunProblems(models, local, op, options);
  if (problems.length > 0) {
    throw new AppError("OP_UNAVAILABLE", `Op ${op} cannot run here: ${problems.join("; ")}`, {
      expose: true,
      details: { op },
    });
  }
}

/**
 * Validates a submission and turns it into a queued job: input stored, job recorded, message
 * published, in that order. A failure at any step undoes the earlier ones, so no half-made job is
 * left behind. A repeated `Idempotency-Key` returns the job it made (same request) or 409 (another).
 */
export async function submitJob(deps: SubmitDeps, submission: Submission, caller: Caller): Promise<Submitted> {
  const now = (deps.now ?? (() => new Date()))();
  const op = parseOp(submission.op);
  const options = parseOptionsField(op, submission.options, deps.models);
  const input = requiredInput(submission.input);
  if (submission.webhook !== undefined) await deps.checkWebhookUrl(submission.webhook);
  const idempotency =
    caller.idempotencyKey === undefined
      ? null
      : idempotencyClaim(
          caller.idempotencyKey,
          requestFingerprint({ op, options, webhook: submission.webhook, input }),
          now,
        );
  if (idempotency) {
    const earlier = await deps.jobs.findByIdempotencyKey(caller.owner, idempotency.key, now);
    if (earlier) return { job: replayOf(earlier, idempotency.fingerprint), replayed: true };
  }
  await assertWithinQuotas(deps.jobs, deps.quotas, { owner: caller.owner, op });

  const file =
    "uploadId" in input
      ? await readStagedUpload(deps.blobs, input.uploadId, caller.owner, {
          maxUploadBytes: deps.limits.maxUploadBytes,
          now,
        })
      : input.file;
  const image = await probeImage(file, {
    maxInputPixels: deps.limits.maxInputPixels,
    maxHeifPixels: deps.limits.maxHeifPixels,
  });
  if (deps.localRun) await assertRunnable(deps.models, deps.localRun, op, options);
  const out = expectedOutputSize(op, options, image);
  if (out.width * out.height > deps.limits.maxOutputPixels) {
    throw new AppError(
      "OUTPUT_TOO_LARGE",
      `The result would be ${out.width}x${out.height} pixels, over the limit of ${deps.limits.maxOutputPixels}`,
    );
  }
  const job = newQueuedJob(
    {
      id: newJobId(),
      owner: caller.owner,
      op,
      options,
      input: { width: image.width, height: image.height, format: image.format, bytes: file.length },
      webhook:
        submission.webhook === undefined
          ? null
          : { url: submission.webhook, state: "pending", attempts: [], nextAttemptAt: null },
      idempotency,
    },
    now,
  );
  const stored = await store(deps, job, file, image.format);
  if (!stored.created) return { job: replayOf(stored.existing, idempotency!.fingerprint), replayed: true };
  if ("uploadId" in input) await removeStagedUpload(deps.blobs, input.uploadId);
  return { job, replayed: false };
}

async function store(deps: SubmitDeps, job: Job, file: Buffer, format: string): Promise<CreateResult> {
  const key = inputKey(job.id);
  await deps.blobs.put(key, file, { contentType: `image/${format}` });
  const removeInput = () =>
    deps.blobs.delete(key).catch((cleanupErr: unknown) => {
      deps.log.error({ err: cleanupErr, key }, "could not remove the input of a job that was not created");
    });
  let created: CreateResult;
  try {
    created = await deps.jobs.create(job);
    if (created.created) {
      try {
        await deps.queue.publish(job.op, { jobId: job.id });
      } catch (err) {
        await deps.jobs.delete(job.id);
        throw err;
      }
    }
  } catch (err) {
    await removeInput();
    throw new AppError("SERVICE_UNAVAILABLE", "The job could not be queued; try again", { cause: err });
  }
  // A racing request with the same Idempotency-Key made the job first.
  if (!created.created) await removeInput();
  return created;
}
