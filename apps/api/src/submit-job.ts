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
  type ImageLimits,
  type Job,
  type JobQueue,
  type JobStore,
  type Logger,
  type OpName,
  type OpOptions,
} from "@imagen/core";
import { probeImage, type ModelRegistry } from "@imagen/imaging/catalogue";
import { localRunProblems, type LocalRun } from "./local-run.js";
import type { Upload } from "./read-upload.js";

export interface SubmitDeps {
  jobs: JobStore;
  queue: JobQueue;
  blobs: BlobStore;
  models: ModelRegistry;
  /** Set where this process runs the models (embedded worker): a job it could not run is refused, `OP_UNAVAILABLE`. */
  localRun: LocalRun | undefined;
  limits: ImageLimits;
  log: Pick<Logger, "error">;
  now?: () => Date;
}

function parseOp(raw: string | undefined): OpName {
  if (isOpName(raw)) return raw;
  throw new AppError(
    "UNKNOWN_OP",
    `Expected op to be one of ${OP_NAMES.join(", ")} but received ${raw === undefined ? "nothing" : JSON.stringify(raw)}`,
  );
}

function parseOptionsField(op: OpName, raw: string | undefined, models: ModelRegistry): OpOptions {
  let value: unknown;
  try {
    value = raw === undefined ? {} : JSON.parse(raw);
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
 * Validates an upload and turns it into a queued job: input stored, job recorded, message published,
 * in that order. A failure at any step undoes the earlier ones, so no half-made job is left behind.
 */
export async function submitJob(deps: SubmitDeps, upload: Upload): Promise<Job> {
  const op = parseOp(upload.op);
  const options = parseOptionsField(op, upload.options, deps.models);
  if (!upload.file) throw new ValidationError('Expected an image in the form field "file"', { code: "MISSING_FILE" });
  const image = await probeImage(upload.file, { maxInputPixels: deps.limits.maxInputPixels });
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
      op,
      options,
      input: { width: image.width, height: image.height, format: image.format, bytes: upload.file.length },
    },
    (deps.now ?? (() => new Date()))(),
  );
  await store(deps, job, upload.file, image.format);
  if (upload.stagedKey) await deps.blobs.delete(upload.stagedKey);
  return job;
}

async function store(deps: SubmitDeps, job: Job, file: Buffer, format: string): Promise<void> {
  const key = inputKey(job.id);
  await deps.blobs.put(key, file, { contentType: `image/${format}` });
  try {
    await deps.jobs.create(job);
    try {
      await deps.queue.publish(job.op, { jobId: job.id });
    } catch (err) {
      await deps.jobs.delete(job.id);
      throw err;
    }
  } catch (err) {
    await deps.blobs.delete(key).catch((cleanupErr: unknown) => {
      deps.log.error({ err: cleanupErr, key }, "could not remove the input of a job that was not created");
    });
    throw new AppError("SERVICE_UNAVAILABLE", "The job could not be queued; try again", { cause: err });
  }
}
