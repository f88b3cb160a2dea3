import { NotFoundError, type Job, type JobStore } from "@imagen/core";

/**
 * The job `id` as `owner` may see it. With API keys on (`owner` is a key's name) another key's job
 * is answered exactly like a missing one, so ids cannot be probed; without keys every job is open.
 */
export async function getOwnedJob(jobs: JobStore, id: string, owner: string | null): Promise<Job> {
  const job = await jobs.get(id);
  if (!job || !canSee(owner, job)) {
    throw new NotFoundError(`No job with id ${JSON.stringify(id)}`, { code: "JOB_NOT_FOUND" });
  }
  return job;
}

export function canSee(owner: string | null, job: Pick<Job, "owner">): boolean {
  return owner === null || job.owner === owner;
}
