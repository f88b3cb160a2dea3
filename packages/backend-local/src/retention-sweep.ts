import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@imagen/core";
import type { SqliteDatabase } from "./sqlite-database.js";

/** What the local backend keeps, and for how long (JOB_TTL_DAYS); the cloud has lifecycle rules and a TTL policy instead. */
export interface RetentionPolicy {
  /** Jobs, their inputs and outputs are removed this long after the job was created. */
  jobTtlMs: number;
  /** An upload with no readable record is removed this long after it was written (the longest upload TTL). */
  orphanUploadTtlMs: number;
}

export interface SweepResult {
  jobs: number;
  blobs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
export const MAX_UPLOAD_TTL_MS = 7 * DAY_MS;
/** A temporary file this old was left by a write that died. */
const STALE_TEMP_MS = 60 * 60 * 1000;
const DELETE_BATCH = 500;

/**
 * One pass of the local backend's retention: job rows (and their idempotency keys) created before
 * the cutoff, expired idempotency keys, input and output blobs older than the cutoff, expired or
 * orphaned two-phase uploads, and temporary files of dead writes. Blobs go by their files' age, so
 * an input whose job was never created goes too. Safe to run in several processes at once.
 */
export async function sweepExpired(
  db: SqliteDatabase,
  blobRoot: string,
  policy: RetentionPolicy,
  now: Date,
): Promise<SweepResult> {
  const cutoffMs = now.getTime() - policy.jobTtlMs;
  const jobs = deleteOldJobs(db, cutoffMs, now.getTime());
  let blobs = 0;
  for (const prefix of ["inputs", "outputs"]) blobs += await removeOlderThan(blobRoot, prefix, cutoffMs, now);
  blobs += await removeExpiredUploads(blobRoot, now, policy.orphanUploadTtlMs);
  return { jobs, blobs };
}

function deleteOldJobs(db: SqliteDatabase, cutoffMs: number, nowMs: number): number {
  const selectOld = db.prepare<[number, number], { id: string }>("SELECT id FROM jobs WHERE created_ms < ? LIMIT ?");
  const deleteKeys = db.prepare<[string]>("DELETE FROM idempotency_keys WHERE job_id = ?");
  const deleteJob = db.prepare<[string]>("DELETE FROM jobs WHERE id = ?");
  const batch = db.transaction((ids: string[]) => {
    for (const id of ids) {
      deleteKeys.run(id);
      deleteJob.run(id);
    }
  });
  let removed = 0;
  for (;;) {
    const ids = selectOld.all(cutoffMs, DELETE_BATCH).map((row) => row.id);
    if (ids.length === 0) break;
    batch.immediate(ids);
    removed += ids.length;
  }
  db.prepare<[number]>("DELETE FROM idempotency_keys WHERE expires_ms <= ?").run(nowMs);
  return removed;
}

/** Entries of `<root>/<prefix>` (files, or a job's output directory) last changed before the cutoff, with their metadata. */
async function removeOlderThan(root: string, prefix: string, cutoffMs: number, now: Date): Promise<number> {
  let removed = 0;
  for (const name of await entries(join(root, prefix))) {
    const path = join(root, prefix, name);
    const info = await stat(path).catch(() => null);
    if (!info) continue;
    const limitMs = name.startsWith(".tmp-") ? Math.max(cutoffMs, now.getTime() - STALE_TEMP_MS) : cutoffMs;
    if (info.mtimeMs >= limitMs) continue;
    await removeBlob(root, `${prefix}/${name}`);
    removed += 1;
  }
  return removed;
}

/** Uploads whose record says they expired, and uploads without a record older than `orphanTtlMs`. */
async function removeExpiredUploads(root: string, now: Date, orphanTtlMs: number): Promise<number> {
  const dir = join(root, "uploads");
  const names = await entries(dir);
  const records = new Set(names.filter((name) => name.endsWith(".json")));
  let removed = 0;
  for (const name of names) {
    if (records.has(name)) {
      if (!(await recordExpired(join(dir, name), now))) continue;
      await removeBlob(root, `uploads/${name.slice(0, -".json".length)}`);
      await removeBlob(root, `uploads/${name}`);
      removed += 1;
    } else if (!records.has(`${name}.json`)) {
      const info = await stat(join(dir, name)).catch(() => null);
      const ttl = name.startsWith(".tmp-") ? STALE_TEMP_MS : orphanTtlMs;
      if (!info || info.mtimeMs >= now.getTime() - ttl) continue;
      await removeBlob(root, `uploads/${name}`);
      removed += 1;
    }
  }
  return removed;
}

async function recordExpired(path: string, now: Date): Promise<boolean> {
  const raw = await readFile(path, "utf8").catch(() => null);
  if (raw === null) return false;
  try {
    const expiresAt = Date.parse((JSON.parse(raw) as { expiresAt?: string }).expiresAt ?? "");
    return Number.isFinite(expiresAt) ? expiresAt <= now.getTime() : false;
  } catch {
    return false;
  }
}

/** A blob's bytes and its `.meta` sidecar (see fs-blob-store.ts); a directory (a job's outputs) as a whole. */
async function removeBlob(root: string, key: string): Promise<void> {
  await rm(join(root, key), { recursive: true, force: true });
  await rm(join(root, ".meta", `${key}.json`), { force: true });
  await rm(join(root, ".meta", key), { recursive: true, force: true });
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch((err: unknown) => {
    if ((err as { code?: unknown }).code === "ENOENT") return [];
    throw err;
  });
}

/**
 * Runs `sweepExpired` now and then every `intervalMs` until stopped. A failed pass is logged and
 * the next one tries again; the timer does not keep the process alive.
 */
export function startRetentionSweeps(options: {
  sweep: () => Promise<SweepResult>;
  intervalMs: number;
  log?: Logger | undefined;
}): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const pass = () => {
    // A pass still running when the next is due (a huge backlog) finishes first.
    if (running) return;
    running = options
      .sweep()
      .then((result) => {
        if (result.jobs + result.blobs > 0) options.log?.info(result, "removed expired jobs and blobs");
      })
      .catch((err: unknown) => options.log?.error({ err }, "retention sweep failed; trying again later"))
      .finally(() => {
        running = null;
      });
  };
  pass();
  const timer = setInterval(pass, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
