import type { DeadLetter, JobStore, Logger } from "@imagen/core";
import type { WorkerMetrics } from "./metrics.js";
import { webhookDuePatch } from "./webhook-state.js";

/**
 * Marks a job whose message exhausted its attempts as failed. The dead-letter path is the one place
 * this happens, so it also covers a worker that died on the last attempt.
 */
export function createDeadLetterHandler(deps: {
  jobs: JobStore;
  metrics: WorkerMetrics;
  log: Logger;
  now?: () => Date;
  /** Called after a job was marked failed (its webhook, if any, is due). */
  onJobFinished?: () => void;
}) {
  const now = deps.now ?? (() => new Date());
  return async (letter: DeadLetter): Promise<void> => {
    const job = await deps.jobs.get(letter.jobId);
    if (!job) return;
    const last = job.error ? ` Last error: ${job.error.message}` : "";
    const at = now();
    const result = await deps.jobs.update(job.id, ["queued", "running"], {
      status: "failed",
      error: { code: "MAX_ATTEMPTS_EXCEEDED", message: `Gave up after ${letter.attempts} attempts.${last}` },
      finishedAt: at.toISOString(),
      ...webhookDuePatch(job, at),
    });
    if (result.ok) {
      deps.onJobFinished?.();
      deps.metrics.jobsTotal.inc({ op: job.op, outcome: "dead-lettered" });
      deps.log.error({ jobId: job.id, op: job.op, attempts: letter.attempts }, "job dead-lettered");
    }
  };
}
