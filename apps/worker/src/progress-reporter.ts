import type { JobRun, JobStore, Logger } from "@imagen/core";
import { heldBy, holderOf, jobLost } from "./lost-job.js";

/**
 * Writes progress to the job store at most once per `intervalMs`, only while the job is running
 * under `run`'s claim, and notices losing it: a progress write that finds the job canceled, deleted
 * or taken over by another run aborts `cancel` with a `JobLostError`, so the pipeline stops at its
 * next tile.
 */
export function createProgressReporter(options: {
  jobs: JobStore;
  jobId: string;
  run: JobRun;
  intervalMs: number;
  cancel: AbortController;
  log: Logger;
  now?: () => number;
}): (fraction: number) => Promise<void> {
  const { jobs, jobId, run, intervalMs, cancel, log, now = Date.now } = options;
  let lastWriteAt = now();
  return async (fraction) => {
    if (now() - lastWriteAt < intervalMs) return;
    lastWriteAt = now();
    const progress = Math.min(Math.max(fraction, 0), 1);
    const result = await jobs.update(jobId, heldBy(run), { progress });
    if (!result.ok) {
      log.info(holderOf(result), "job left this run; stopping");
      cancel.abort(jobLost(result, run));
    }
  };
}
