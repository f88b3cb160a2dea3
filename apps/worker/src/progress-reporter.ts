import type { JobStore, Logger } from "@imagen/core";

/**
 * Writes progress to the job store at most once per `intervalMs`, and notices cancellation: a
 * progress write that finds the job no longer running aborts `cancel`, so the pipeline stops at its
 * next tile.
 */
export function createProgressReporter(options: {
  jobs: JobStore;
  jobId: string;
  intervalMs: number;
  cancel: AbortController;
  log: Logger;
  now?: () => number;
}): (fraction: number) => Promise<void> {
  const { jobs, jobId, intervalMs, cancel, log, now = Date.now } = options;
  let lastWriteAt = now();
  return async (fraction) => {
    if (now() - lastWriteAt < intervalMs) return;
    lastWriteAt = now();
    const result = await jobs.update(jobId, "running", { progress: Math.min(Math.max(fraction, 0), 1) });
    if (!result.ok) {
      log.info(
        { status: result.reason === "conflict" ? result.current.status : "deleted" },
        "job left running; stopping",
      );
      cancel.abort(new Error("job is no longer running"));
    }
  };
}
