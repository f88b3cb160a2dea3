import { ConflictError, decodeJobCursor, encodeJobCursor, matchesExpected, ValidationError } from "@imagen/core";
import type { Job, JobExpected, JobFilter, JobPage, JobPatch, JobStore, UpdateResult } from "@imagen/core";
import { closeSqliteDatabase, isSqliteError, openSqliteDatabase, type SqliteDatabase } from "./sqlite-database.js";

export interface SqliteJobStoreOptions {
  /** The SQLite file; created with its directory when missing. May be shared with other processes. */
  file: string;
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
`;

interface JobRow {
  job: string;
}

/**
 * A `JobStore` on a SQLite file (better-sqlite3, WAL). Several processes may open the same file:
 * `update` reads and writes inside one IMMEDIATE transaction, so the compare-and-set holds across
 * them. Jobs are stored as JSON beside the columns that `list` filters and sorts on.
 */
export function createSqliteJobStore(options: SqliteJobStoreOptions): JobStore {
  const db = openSqliteDatabase(options.file);
  db.exec(SCHEMA);
  const insert = db.prepare<[string, string, string, number, string]>(
    "INSERT INTO jobs (id, op, status, created_ms, job) VALUES (?, ?, ?, ?, ?)",
  );
  const select = db.prepare<[string], JobRow>("SELECT job FROM jobs WHERE id = ?");
  const replace = db.prepare<[string, string, string]>("UPDATE jobs SET status = ?, job = ? WHERE id = ?");
  const remove = db.prepare<[string]>("DELETE FROM jobs WHERE id = ?");
  const compareAndSet = db.transaction((id: string, expected: JobExpected, patch: JobPatch): UpdateResult => {
    const row = select.get(id);
    if (!row) return { ok: false, reason: "not-found" };
    const current = parseJob(row);
    if (!matchesExpected(current, expected)) return { ok: false, reason: "conflict", current };
    const job = applyPatch(current, patch, new Date());
    replace.run(job.status, JSON.stringify(job), id);
    return { ok: true, job };
  });

  return {
    async create(job) {
      try {
        insert.run(job.id, job.op, job.status, createdMs(job.createdAt), JSON.stringify(job));
      } catch (err) {
        if (isSqliteError(err, "SQLITE_CONSTRAINT_PRIMARYKEY")) {
          throw new ConflictError(`Expected a new job id but ${job.id} exists`, { cause: err });
        }
        throw err;
      }
    },
    async get(id) {
      const row = select.get(id);
      return row ? parseJob(row) : null;
    },
    async list(filter, page) {
      return listJobs(db, filter, page);
    },
    async update(id, expected, patch) {
      return compareAndSet.immediate(id, expected, patch);
    },
    async delete(id) {
      remove.run(id);
    },
    async ping() {
      db.prepare("SELECT 1").get();
    },
    async close() {
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
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.status !== undefined) {
    where.push("status = ?");
    params.push(filter.status);
  }
  if (filter.op !== undefined) {
    where.push("op = ?");
    params.push(filter.op);
  }
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
    rows.length > page.limit && last ? encodeJobCursor({ createdAtMs: createdMs(last.createdAt), id: last.id }) : null;
  return { jobs, nextCursor };
}

function parseJob(row: JobRow): Job {
  return JSON.parse(row.job) as Job;
}

function createdMs(createdAt: string): number {
  const ms = Date.parse(createdAt);
  if (!Number.isFinite(ms)) {
    throw new ValidationError(`Expected an ISO-8601 createdAt but received ${JSON.stringify(createdAt)}`);
  }
  return ms;
}
