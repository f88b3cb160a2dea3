import { AppError, type JobStore, type OpName } from "@imagen/core";

export interface Quotas {
  /** Queued plus running jobs one API key may have; 0: no limit. */
  maxActiveJobsPerKey: number;
  /** Queued jobs per op before submissions are refused; 0: no limit. */
  maxQueuedJobs: number;
}

/** When a client refused for a full queue should try again; the backlog drains at seconds per job. */
const QUEUE_FULL_RETRY_AFTER_S = 30;
const QUOTA_RETRY_AFTER_S = 10;

/**
 * Refuses a submission over a quota: `QUOTA_EXCEEDED` (429) for a key with too many active jobs,
 * `QUEUE_FULL` (503) for an op whose backlog is at its limit. Counted before the job is made, so
 * racing submissions may pass a limit by a few; the limits bound load, they are not exact.
 */
export async function assertWithinQuotas(
  jobs: JobStore,
  quotas: Quotas,
  request: { owner: string | null; op: OpName },
): Promise<void> {
  if (quotas.maxActiveJobsPerKey > 0 && request.owner !== null) {
    const active = await jobs.count({ statuses: ["queued", "running"], owner: request.owner });
    if (active >= quotas.maxActiveJobsPerKey) {
      throw new AppError(
        "QUOTA_EXCEEDED",
        `This API key has ${active} queued or running jobs, the most it may have (MAX_ACTIVE_JOBS_PER_KEY); wait for some to end`,
        { retryAfterS: QUOTA_RETRY_AFTER_S, details: { active, limit: quotas.maxActiveJobsPerKey } },
      );
    }
  }
  if (quotas.maxQueuedJobs > 0) {
    const queued = await jobs.count({ statuses: ["queued"], op: request.op });
    if (queued >= quotas.maxQueuedJobs) {
      throw new AppError(
        "QUEUE_FULL",
        `${queued} ${request.op} jobs are waiting, the most the queue takes (MAX_QUEUED_JOBS); try again later`,
        {
          expose: true,
          retryAfterS: QUEUE_FULL_RETRY_AFTER_S,
          details: { op: request.op, queued, limit: quotas.maxQueuedJobs },
        },
      );
    }
  }
}
