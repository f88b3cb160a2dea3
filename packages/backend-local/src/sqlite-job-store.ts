import {
  ConflictError,
  decodeJobCursor,
  encodeJobCursor,
  matchesExpected,
  isoMs,
  ValidationError,
  webhookDueMs,
  withJobDefaults,
} from "@imagen/core";
import type {
  CreateResult,
  Job,
  JobCountFilter,
  JobExpected,
  JobFilter,
  JobPage,
  JobPatch,
  JobStore,
  UpdateResult,
} from "@imagen/core";
import { createCommitListeners } from "./commit-watch.js";
import { closeSqliteDatabase, isSqliteError, openSqliteDatabase, type SqliteDatabase } from "./sqlite-database.js";

export interface SqliteJobStoreOptions {
  /** The SQLite file; created with its directory when missing. May be shared with other processes. */
  file: string;
  /** What "now" is for `updatedAt` and idempotency expiry (tests). */
  clock?: () => Date;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  op TEXT NOT NULL,
  status TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  job TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_newest ON jobs (created_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_status_newest ON jobs (status, created_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_op_newest ON jobs (op, created_ms DESC, id DESC);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  owner TEXT NOT NULL,
  key TEXT NOT NULL,
  job_id TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  PRIMARY KEY (owner, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_job ON idempotency_keys (job_id);
`;

/** Columns added after the first release; a store opened on an older file adds them. */
const ADDED_COLUMNS = [
  { name: "owner", ddl: "ALTER TABLE jobs ADD COLUMN owner TEXT" },
  { name: "webhook_due_ms", ddl: "ALTER TABLE jobs ADD COLUMN webhook_due_ms INTEGER" },
] as const;

const INDEXES_ON_ADDED_COLUMNS = `
CREATE INDEX IF NOT EXISTS jobs_owner_newest ON jobs (owner, created_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_owner_status ON jobs (owner, status);
CREATE INDEX IF NOT EXISTS jobs_webhook_due ON jobs (webhook_due_ms) WHERE webhook_due_ms IS NOT NULL;
`;

/** The keyless owner in `idempotency_keys`, whose key column cannot be NULL. */
const NO_OWNER = "";

interface JobRow {
  job: string;
}

function migrate(db: SqliteDatabase): void {
  db.exec(SCHEMA);
  // IMMEDIATE: two processes opening an old file at once must not both add a column.
  db.transaction(() => {
    const columns = new Set(
      db
        .prepare<[], { name: string }>("PRAGMA table_info(jobs)")
        .all()
        .map((c) => c.name),
    );
    for (const column of ADDED_COLUMNS) if (!columns.has(column.name)) db.exec(column.ddl);
  }).immediate();
  db.exec(INDEXES_ON_ADDED_COLUMNS);
}

/**
 * A `JobStore` on a SQLite file (better-sqlite3, WAL). Several processes may open the same file:
 * `update` reads and writes inside one IMMEDIATE transaction, so the compare-and-set holds across
 * them. Jobs are stored as JSON beside the columns that `list` filters and sorts on.
 */
export function createSqliteJobStore(options: SqliteJobStoreOptions): JobStore {
  const db = openSqliteDatabase(options.file);
  migrate(db);
  const now = options.clock ?? (() => new Date());
  const insert = db.prepare<[string, string | null, string, string, number, number | null, string]>(
    "INSERT INTO jobs (id, owner, op, status, created_ms, webhook_due_ms, job) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const select = db.prepare<[string], JobRow>("SELECT job FROM jobs WHERE id = ?");
  const replace = db.prepare<[string, number | null, string, string]>(
    "UPDATE jobs SET status = ?, webhook_due_ms = ?, job = ? WHERE id = ?",
  );
  const remove = db.prepare<[string]>("DELETE FROM jobs WHERE id = ?");
  const selectIdempotent = db.prepare<[string, string, number], JobRow>(
    "SELECT jobs.job FROM idempotency_keys JOIN jobs ON jobs.id = idempotency_keys.job_id " +
      "WHERE idempotency_keys.owner = ? AND idempotency_keys.key = ? AND idempotency_keys.expires_ms > ?",
  );
  const claimKey = db.prepare<[string, string, string, number]>(
    "INSERT OR REPLACE INTO idempotency_keys (owner, key, job_id, expires_ms) VALUES (?, ?, ?, ?)",
  );
  const releaseKeys = db.prepare<[string]>("DELETE FROM idempotency_keys WHERE job_id = ?");
  const selectDue = db.prepare<[number, number], JobRow>(
    "SELECT job FROM jobs WHERE webhook_due_ms IS NOT NULL AND webhook_due_ms <= ? ORDER BY webhook_due_ms LIMIT ?",
  );

  const commits = createCommitListeners(options.file);

  const createJob = db.transaction((job: Job): CreateResult => {
    if (job.idempotency) {
      const holder = selectIdempotent.get(job.owner ?? NO_OWNER, job.idempotency.key, now().getTime());
      if (holder) return { created: false, existing: parseJob(holder) };
      claimKey.run(job.owner ?? NO_OWNER, job.idempotency.key, job.id, isoMs(job.idempotency.expiresAt, "expiresAt"));
    }
    insert.run(
      job.id,
      job.owner,
      job.op,
      job.status,
      isoMs(job.createdAt, "createdAt"),
      webhookDueMs(job),
      JSON.stringify(job),
    );
    return { created: true };
  });
  const compareAndSet = db.transaction((id: string, expected: JobExpected, patch: JobPatch): UpdateResult => {
    const row = select.get(id);
    if (!row) return { ok: false, reason: "not-found" };
    const current = parseJob(row);
    if (!matchesExpected(current, expected)) return { ok: false, reason: "conflict", current };
    const job = applyPatch(current, patch, now());
    replace.run(job.status, webhookDueMs(job), JSON.stringify(job), id);
    return { ok: true, job };
  });
  const deleteJob = db.transaction((id: string) => {
    releaseKeys.run(id);
    remove.run(id);
  });

  return {
    async create(job) {
      try {
        return createJob.immediate(job);
      } catch (err) {
        if (isSqliteError(err, "SQLITE_CONSTRAINT_PRIMARYKEY")) {
          throw new ConflictError(`Expected a new job id but ${job.id} exists`, { cause: err });
        }
        throw err;
      }
    },
    async findByIdempotencyKey(owner, key, at) {
      const row = selectIdempotent.get(owner ?? NO_OWNER, key, at.getTime());
      return row ? parseJob(row) : null;
    },
    async get(id) {
      const row = select.get(id);
      return row ? parseJob(row) : null;
    },
    async list(filter, page) {
      return listJobs(db, filter, page);
    },
    async count(filter) {
      return countJobs(db, filter);
    },
    async listWebhooksDue(at, limit) {
      return selectDue.all(at.getTime(), limit).map(parseJob);
    },
    async update(id, expected, patch) {
      return compareAndSet.immediate(id, expected, patch);
    },
    async delete(id) {
      deleteJob.immediate(id);
    },
    // Any commit to the file, by any process, whichever job it touched: the API's watchers see a
    // worker's writes at once.
    onChange: (_id, listener) => commits.subscribe(listener),
    async ping() {
      db.prepare("SELECT 1").get();
    },
    async close() {
      commits.close();
      closeSqliteDatabase(db);
    },
  };
}

function applyPatch(current: Job, patch: JobPatch, now: Date): Job {
  const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
  return { ...current, ...defined, updatedAt: now.toISOString() };
}

function listJobs(db: SqliteDatabase, filter: JobFilter, page: { limit: number; cursor?: string }): JobPage {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > 100) {
    throw new ValidationError(`Expected an integer limit from 1 to 100 but received ${page.limit}`);
  }
  const { where, params } = equalities({ status: filter.status, op: filter.op, owner: filter.owner });
  if (page.cursor !== undefined) {
    const after = decodeJobCursor(page.cursor);
    where.push("(created_ms < ? OR (created_ms = ? AND id < ?))");
    params.push(after.createdAtMs, after.createdAtMs, after.id);
  }
  const sql =
    `SELECT job FROM jobs ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ` +
    "ORDER BY created_ms DESC, id DESC LIMIT ?";
  const rows = db.prepare<(string | number)[], JobRow>(sql).all(...params, page.limit + 1);
  const jobs = rows.slice(0, page.limit).map(parseJob);
  const last = jobs[jobs.length - 1];
  const nextCursor =
    rows.length > page.limit && last
      ? encodeJobCursor({ createdAtMs: isoMs(last.createdAt, "createdAt"), id: last.id })
      : null;
  return { jobs, nextCursor };
}

function countJobs(db: SqliteDatabase, filter: JobCountFilter): number {
  if (filter.statuses.length === 0) return 0;
  const { where, params } = equalities({ op: filter.op, owner: filter.owner });
  where.push(`status IN (${filter.statuses.map(() => "?").join(", ")})`);
  params.push(...filter.statuses);
  const sql = `SELECT COUNT(*) AS n FROM jobs WHERE ${where.join(" AND ")}`;
  return db.prepare<(string | number)[], { n: number }>(sql).get(...params)?.n ?? 0;
}

/** `column = ?` clauses and their parameters for the filter columns that are set. */
function equalities(columns: Partial<Record<"status" | "op" | "owner", string>>) {
  const where: string[] = [];
  const params: (string | number)[] = [];
  for (const [column, value] of Object.entries(columns)) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    params.push(value);
  }
  return { where, params };
}

function parseJob(row: JobRow): Job {
  return withJobDefaults(JSON.parse(row.job) as Job);
}
