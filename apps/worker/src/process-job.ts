import {
  inputKey,
  isFinished,
  isPermanentJobError,
  outputKey,
  parseOptions,
  PermanentJobError,
  readAll,
  type BlobStore,
  type Delivery,
  type Job,
  type JobStore,
  type Logger,
  type OpOptions,
} from "@imagen/core";
import type { Pipelines, PipelineResult } from "@imagen/imaging";
import type { JobOutcome, WorkerMetrics } from "./metrics.js";
import { createProgressReporter } from "./progress-reporter.js";

export interface JobProcessorDeps {
  jobs: JobStore;
  blobs: BlobStore;
  pipelines: Pipelines;
  metrics: WorkerMetrics;
  log: Logger;
  progressIntervalMs: number;
  now?: () => Date;
}

/**
 * Handles one delivery of a job message; resolving acks it, throwing hands it back for a retry.
 * Idempotent: a finished job is skipped, the claim is a compare-and-set, the output key is fixed.
 * `shutdown` aborts when the process is stopping: the job is released for another worker.
 */
export function createJobProcessor(deps: JobProcessorDeps) {
  const now = deps.now ?? (() => new Date());

  return async function processJob(delivery: Delivery, shutdown: AbortSignal): Promise<void> {
    const log = deps.log.child({ jobId: delivery.jobId, attempt: delivery.attempt });
    const job = await claim(delivery, log);
    if (!job) return;
    const startedAt = performance.now();
    const cancel = new AbortController();
    let outcome: JobOutcome = "succeeded";
    deps.metrics.inFlight.inc({ op: job.op });
    try {
      await run(job, cancel, AbortSignal.any([cancel.signal, shutdown]), log);
    } catch (err) {
      outcome = await settleFailure(job, err, { cancel, shutdown, log, attempt: delivery.attempt });
      if (outcome === "retried" || outcome === "released") throw err;
    } finally {
      const seconds = (performance.now() - startedAt) / 1000;
      deps.metrics.inFlight.dec({ op: job.op });
      deps.metrics.jobsTotal.inc({ op: job.op, outcome });
      deps.metrics.jobDuration.observe({ op: job.op, outcome }, seconds);
      log.info({ op: job.op, outcome, durationMs: Math.round(seconds * 1000) }, "job attempt ended");
    }
  };

  /** Moves the job to running for this attempt, or returns null when there is nothing to do. */
  async function claim(delivery: Delivery, log: Logger): Promise<Job | null> {
    const job = await deps.jobs.get(delivery.jobId);
    if (!job || isFinished(job.status)) {
      log.info({ status: job?.status ?? "missing" }, "message for a job that will not run; acking");
      return null;
    }
    const claimed = await deps.jobs.update(job.id, ["queued", "running"], {
      status: "running",
      attempts: delivery.attempt,
      startedAt: now().toISOString(),
      progress: 0,
    });
    return claimed.ok ? claimed.job : null;
  }

  async function run(job: Job, cancel: AbortController, signal: AbortSignal, log: Logger): Promise<void> {
    const input = await deps.blobs.get(inputKey(job.id));
    if (!input) throw new PermanentJobError("PROCESSING_FAILED", "The input image of this job is missing");
    const onProgress = createProgressReporter({
      jobs: deps.jobs,
      jobId: job.id,
      intervalMs: deps.progressIntervalMs,
      cancel,
      log,
    });
    const totalStart = performance.now();
    const result = await deps.pipelines.run(job.op, await readAll(input), currentOptions(job), {
      signal,
      onProgress,
    });
    signal.throwIfAborted();
    const key = outputKey(job.id, result.format);
    await deps.blobs.put(key, result.data, { contentType: result.contentType });
    const finished = await deps.jobs.update(job.id, "running", {
      status: "succeeded",
      progress: 1,
      error: null,
      output: { width: result.width, height: result.height, format: result.format, bytes: result.data.length, key },
      timings: { ...result.timings, totalMs: Math.round(performance.now() - totalStart) },
      finishedAt: now().toISOString(),
    });
    if (!finished.ok) {
      // Canceled while the result was being written: a canceled job keeps no output.
      await deps.blobs.delete(key);
      cancel.abort(new Error("job is no longer running"));
      signal.throwIfAborted();
    }
    recordStages(job, result);
  }

  function recordStages(job: Job, result: PipelineResult): void {
    for (const [stage, ms] of Object.entries(result.timings)) {
      deps.metrics.stageDuration.observe({ op: job.op, stage: stage.replace(/Ms$/, "") }, ms / 1000);
    }
  }

  /** Records why the attempt ended and returns the outcome; the caller rethrows retried/released. */
  async function settleFailure(
    job: Job,
    err: unknown,
    ctx: { cancel: AbortController; shutdown: AbortSignal; log: Logger; attempt: number },
  ): Promise<JobOutcome> {
    if (ctx.cancel.signal.aborted) return "canceled";
    if (ctx.shutdown.aborted) {
      await deps.jobs.update(job.id, "running", { status: "queued", progress: 0 });
      return "released";
    }
    const error = isPermanentJobError(err)
      ? { code: err.code, message: err.message }
      : { code: "PROCESSING_FAILED", message: "Processing failed; the job will be retried" };
    if (isPermanentJobError(err)) {
      ctx.log.warn({ err }, "job failed permanently");
      await deps.jobs.update(job.id, "running", { status: "failed", error, finishedAt: now().toISOString() });
      return "failed";
    }
    ctx.log.warn({ err }, "job attempt failed; handing it back for a retry");
    await deps.jobs.update(job.id, "running", { status: "queued", error, progress: 0 });
    return "retried";
  }
}

export type JobProcessor = ReturnType<typeof createJobProcessor>;

/**
 * The job's options with today's defaults filled in, so a job stored before an option was added
 * runs as if it had been submitted now; options that no longer validate fail the job for good.
 */
function currentOptions(job: Job): OpOptions {
  try {
    return parseOptions(job.op, job.options);
  } catch (err) {
    throw new PermanentJobError("INVALID_OPTIONS", err instanceof Error ? err.message : String(err));
  }
}
