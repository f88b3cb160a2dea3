import {
  inputKey,
  isFinished,
  isPermanentJobError,
  newRunId,
  outputKey,
  parseOptions,
  PermanentJobError,
  readAll,
  type BlobStore,
  type Delivery,
  type Job,
  type JobPatch,
  type JobRun,
  type JobStore,
  type Logger,
  type OpOptions,
} from "@imagen/core";
import type { Pipelines, PipelineResult } from "@imagen/imaging";
import { heldBy, holderOf, jobLost, lostOutcome } from "./lost-job.js";
import type { JobOutcome, WorkerMetrics } from "./metrics.js";
import { createProgressReporter } from "./progress-reporter.js";
import { webhookDuePatch } from "./webhook-state.js";

export interface JobProcessorDeps {
  jobs: JobStore;
  blobs: BlobStore;
  pipelines: Pipelines;
  metrics: WorkerMetrics;
  log: Logger;
  progressIntervalMs: number;
  now?: () => Date;
  /** Called after this worker wrote a job's final status (its webhook, if any, is now due). */
  onJobFinished?: () => void;
}

/**
 * Handles one delivery of a job message; resolving acks it, throwing hands it back for a retry.
 * Idempotent: a finished job is skipped, and the claim is a compare-and-set that records the
 * delivery's attempt and a fresh run id. A redelivery may take over a job running under an older
 * attempt (its worker died or lost its lease); from then on every write of the older run is
 * refused, since each one expects the job running under that run's id, and the older run writes
 * only its own output key. The run id also tells apart two runs whose deliveries carry the same
 * attempt (a message published twice). `shutdown` aborts when the process is stopping: the job is
 * released for another worker.
 */
export function createJobProcessor(deps: JobProcessorDeps) {
  const now = deps.now ?? (() => new Date());

  return async function processJob(delivery: Delivery, shutdown: AbortSignal): Promise<void> {
    const jobLog = deps.log.child({ jobId: delivery.jobId, attempt: delivery.attempt });
    const claimed = await claim(delivery, jobLog);
    if (!claimed) return;
    const { job, run: jobRun } = claimed;
    const log = jobLog.child({ runId: jobRun.runId });
    const startedAt = performance.now();
    const cancel = new AbortController();
    let outcome: JobOutcome = "succeeded";
    deps.metrics.inFlight.inc({ op: job.op });
    try {
      await run(job, jobRun, cancel, AbortSignal.any([cancel.signal, shutdown]), log);
    } catch (err) {
      outcome = await settleFailure(job, err, { run: jobRun, cancel, shutdown, log });
      if (outcome === "retried" || outcome === "released") throw err;
    } finally {
      const seconds = (performance.now() - startedAt) / 1000;
      deps.metrics.inFlight.dec({ op: job.op });
      deps.metrics.jobsTotal.inc({ op: job.op, outcome });
      deps.metrics.jobDuration.observe({ op: job.op, outcome }, seconds);
      log.info({ op: job.op, outcome, durationMs: Math.round(seconds * 1000) }, "job attempt ended");
    }
  };

  /**
   * Moves the job to running under this attempt and a new run id, from queued or from running
   * under an older attempt; returns null when there is nothing to do, or when this or a newer
   * attempt holds it.
   */
  async function claim(delivery: Delivery, log: Logger): Promise<{ job: Job; run: JobRun } | null> {
    const job = await deps.jobs.get(delivery.jobId);
    if (!job || isFinished(job.status)) {
      log.info({ status: job?.status ?? "missing" }, "message for a job that will not run; acking");
      return null;
    }
    const run: JobRun = { attempt: delivery.attempt, runId: newRunId() };
    const claimed = await deps.jobs.update(job.id, ["queued", { status: "running", attemptsBelow: delivery.attempt }], {
      status: "running",
      attempts: run.attempt,
      runId: run.runId,
      startedAt: now().toISOString(),
      progress: 0,
    });
    if (claimed.ok) return { job: claimed.job, run };
    log.info(holderOf(claimed), "job is not claimable by this attempt; acking");
    return null;
  }

  async function run(
    job: Job,
    jobRun: JobRun,
    cancel: AbortController,
    signal: AbortSignal,
    log: Logger,
  ): Promise<void> {
    const input = await deps.blobs.get(inputKey(job.id));
    if (!input) throw new PermanentJobError("PROCESSING_FAILED", "The input image of this job is missing");
    const onProgress = createProgressReporter({
      jobs: deps.jobs,
      jobId: job.id,
      run: jobRun,
      intervalMs: deps.progressIntervalMs,
      cancel,
      log,
    });
    const totalStart = performance.now();
    const result = await deps.pipelines.run(job.op, await readAll(input), currentOptions(job), {
      job: { id: job.id, attempt: job.attempts },
      signal,
      onProgress,
    });
    signal.throwIfAborted();
    const key = outputKey(job.id, jobRun, result.format);
    await deps.blobs.put(key, result.data, { contentType: result.contentType });
    const at = now();
    const finished = await deps.jobs.update(job.id, heldBy(jobRun), {
      status: "succeeded",
      progress: 1,
      error: null,
      output: { width: result.width, height: result.height, format: result.format, bytes: result.data.length, key },
      timings: { ...result.timings, totalMs: Math.round(performance.now() - totalStart) },
      finishedAt: at.toISOString(),
      ...webhookDuePatch(job, at),
    });
    if (!finished.ok) {
      // Canceled, or taken over by another run, while the result was being written: the key is
      // this run's own, so deleting it cannot touch the output the job names.
      await deps.blobs.delete(key);
      cancel.abort(jobLost(finished, jobRun));
      signal.throwIfAborted();
    }
    recordStages(job, result);
    deps.onJobFinished?.();
  }

  function recordStages(job: Job, result: PipelineResult): void {
    for (const [stage, ms] of Object.entries(result.timings)) {
      deps.metrics.stageDuration.observe({ op: job.op, stage: stage.replace(/Ms$/, "") }, ms / 1000);
    }
  }

  /**
   * Records why the attempt ended and returns the outcome; the caller rethrows retried/released.
   * A write refused because the job left this attempt means the message is no longer this run's
   * to hand back: the outcome says how the job was lost, and the message is acked.
   */
  async function settleFailure(
    job: Job,
    err: unknown,
    ctx: { run: JobRun; cancel: AbortController; shutdown: AbortSignal; log: Logger },
  ): Promise<JobOutcome> {
    if (ctx.cancel.signal.aborted) return lostOutcome(ctx.cancel.signal.reason);
    const settle = async (patch: JobPatch, outcome: JobOutcome): Promise<JobOutcome> => {
      const result = await deps.jobs.update(job.id, heldBy(ctx.run), patch);
      return result.ok ? outcome : lostOutcome(jobLost(result, ctx.run));
    };
    if (ctx.shutdown.aborted) return settle({ status: "queued", progress: 0 }, "released");
    if (isPermanentJobError(err)) {
      ctx.log.warn({ err }, "job failed permanently");
      const error = { code: err.code, message: err.message };
      const at = now();
      const outcome = await settle(
        { status: "failed", error, finishedAt: at.toISOString(), ...webhookDuePatch(job, at) },
        "failed",
      );
      if (outcome === "failed") deps.onJobFinished?.();
      return outcome;
    }
    ctx.log.warn({ err }, "job attempt failed; handing it back for a retry");
    const error = { code: "PROCESSING_FAILED", message: "Processing failed; the job will be retried" };
    return settle({ status: "queued", error, progress: 0 }, "retried");
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
