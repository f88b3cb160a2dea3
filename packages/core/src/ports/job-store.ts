import type { Job, JobPatch, JobStatus } from "../job.js";
import type { OpName } from "../ops.js";

export interface JobFilter {
  status?: JobStatus;
  op?: OpName;
  /** Only jobs of this owner (an API key's name). */
  owner?: string;
}

/** What `count` counts: jobs in any of `statuses`, narrowed by op and owner. */
export interface JobCountFilter {
  statuses: readonly JobStatus[];
  op?: OpName;
  owner?: string;
}

export type CreateResult =
  | { created: true }
  /** The job carried an idempotency key that an unexpired job of the same owner already holds. */
  | { created: false; existing: Job };

export interface JobPage {
  /** Newest first (by `createdAt`, then id). */
  jobs: Job[];
  /** Opaque; pass back as `cursor` for the next page. `null` on the last page. */
  nextCursor: string | null;
}

/**
 * A stored state an update may apply to: its status and, optionally, conditions on `attempts` and
 * `runId`. Workers use it to tie every write of a run to the claim that gave it the job.
 */
export interface JobExpectation {
  status: JobStatus;
  /** Only while the stored `attempts` equals this: the run of this attempt still holds the job. */
  attempts?: number;
  /** Only while the stored `runId` equals this: no other run has claimed the job since. */
  runId?: string;
  /** Only while the stored `attempts` is below this: a newer attempt may take over an older one. */
  attemptsBelow?: number;
  /** Only while the job's webhook has this many recorded attempts (0 without a webhook): one dispatcher per try. */
  webhookAttempts?: number;
}

/** What `update` compares against: a status, or a list of statuses and expectations, any of which may match. */
export type JobExpected = JobStatus | JobExpectation | readonly (JobStatus | JobExpectation)[];

/** Whether `job` is in a state that `expected` allows; the one definition every store applies. */
export function matchesExpected(
  job: Pick<Job, "status" | "attempts" | "runId" | "webhook">,
  expected: JobExpected,
): boolean {
  const options: readonly (JobStatus | JobExpectation)[] = isList(expected) ? expected : [expected];
  return options.some((option) => matchesOne(job, typeof option === "string" ? { status: option } : option));
}

function isList(expected: JobExpected): expected is readonly (JobStatus | JobExpectation)[] {
  return Array.isArray(expected);
}

function matchesOne(job: Pick<Job, "status" | "attempts" | "runId" | "webhook">, expectation: JobExpectation): boolean {
  if (job.status !== expectation.status) return false;
  if (expectation.attempts !== undefined && job.attempts !== expectation.attempts) return false;
  if (expectation.runId !== undefined && job.runId !== expectation.runId) return false;
  if (expectation.webhookAttempts !== undefined && webhookAttempts(job) !== expectation.webhookAttempts) return false;
  return expectation.attemptsBelow === undefined || job.attempts < expectation.attemptsBelow;
}

function webhookAttempts(job: Pick<Job, "webhook">): number {
  return job.webhook?.attempts.length ?? 0;
}

/** When a dispatcher may next try the job's webhook, in ms since the epoch; null when nothing is due ever. */
export function webhookDueMs(job: Pick<Job, "webhook">): number | null {
  if (job.webhook?.state !== "pending" || job.webhook.nextAttemptAt === null) return null;
  const ms = Date.parse(job.webhook.nextAttemptAt);
  return Number.isFinite(ms) ? ms : null;
}

export type UpdateResult =
  | { ok: true; job: Job }
  /** The job exists but is not in an expected state (status or attempts); `current` is what is stored. */
  | { ok: false; reason: "conflict"; current: Job }
  | { ok: false; reason: "not-found" };

/**
 * Where jobs live. Every status change goes through `update`, a compare-and-set on the status (and,
 * for a worker's run, on the attempt that claimed the job), so duplicate deliveries and racing
 * workers cannot overwrite each other.
 */
export interface JobStore {
  /**
   * Stores a new job. Throws `ConflictError` when the id exists. With `job.idempotency`, atomically:
   * when an unexpired job of the same owner holds the same idempotency key, nothing is stored and
   * that job is returned (the caller compares fingerprints); an expired holder is replaced.
   */
  create(job: Job): Promise<CreateResult>;

  /** The unexpired job of `owner` (null: keyless) created under idempotency `key`, or null. */
  findByIdempotencyKey(owner: string | null, key: string, now: Date): Promise<Job | null>;

  /** The job, or `null` when there is none with this id. */
  get(id: string): Promise<Job | null>;

  /**
   * One page of jobs matching `filter`, newest first. `limit` is 1..100. Throws `ValidationError`
   * (`INVALID_CURSOR`) for a cursor this store did not issue.
   */
  list(filter: JobFilter, page: { limit: number; cursor?: string }): Promise<JobPage>;

  /**
   * Applies `patch` only if the stored job matches `expected` (see `matchesExpected`), atomically:
   * of several racing updates that expect the same state, one wins. Sets `updatedAt`. Does not check
   * that the status change is legal: callers use `canTransition`.
   */
  update(id: string, expected: JobExpected, patch: JobPatch): Promise<UpdateResult>;

  /** How many jobs match; for quotas, so it may count a moment's races either way. */
  count(filter: JobCountFilter): Promise<number>;

  /** Up to `limit` jobs whose webhook is due at `now` (see `webhookDueMs`), the longest-due first. */
  listWebhooksDue(now: Date, limit: number): Promise<Job[]>;

  /** Removes a job and its idempotency record; a missing id is not an error. */
  delete(id: string): Promise<void>;

  /**
   * Calls `listener` soon after job `id` may have changed, by this process or another, and returns
   * the function that stops it. A hint, not a feed: it carries no job, may come when nothing changed
   * (the local store hints at every commit to its file), and watchers still poll. Left out by a
   * store that cannot tell cheaply.
   */
  onChange?(id: string, listener: () => void): () => void;

  /** Whether the backing store answers (for readiness). */
  ping(): Promise<void>;

  close(): Promise<void>;
}
