import type { Job, JobPatch, JobStatus } from "../job.js";
import type { OpName } from "../ops.js";

export interface JobFilter {
  status?: JobStatus;
  op?: OpName;
}

export interface JobPage {
  /** Newest first (by `createdAt`, then id). */
  jobs: Job[];
  /** Opaque; pass back as `cursor` for the next page. `null` on the last page. */
  nextCursor: string | null;
}

export type UpdateResult =
  | { ok: true; job: Job }
  /** The job exists but its status was not one of the expected ones; `current` is what is stored. */
  | { ok: false; reason: "conflict"; current: Job }
  | { ok: false; reason: "not-found" };

/**
 * Where jobs live. Every status change goes through `update`, a compare-and-set on the status, so
 * duplicate deliveries and racing workers cannot overwrite each other.
 */
export interface JobStore {
  /** Stores a new job. Throws `ConflictError` when the id exists. */
  create(job: Job): Promise<void>;

  /** The job, or `null` when there is none with this id. */
  get(id: string): Promise<Job | null>;

  /**
   * One page of jobs matching `filter`, newest first. `limit` is 1..100. Throws `ValidationError`
   * (`INVALID_CURSOR`) for a cursor this store did not issue.
   */
  list(filter: JobFilter, page: { limit: number; cursor?: string }): Promise<JobPage>;

  /**
   * Applies `patch` only if the stored status is one of `expected`; sets `updatedAt`. Does not check
   * that the status change is legal: callers use `canTransition`.
   */
  update(id: string, expected: JobStatus | readonly JobStatus[], patch: JobPatch): Promise<UpdateResult>;

  /** Removes a job; a missing id is not an error. */
  delete(id: string): Promise<void>;

  /** Whether the backing store answers (for readiness). */
  ping(): Promise<void>;

  close(): Promise<void>;
}
