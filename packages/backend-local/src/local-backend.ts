import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { composeBackend, type Backend, type Logger, type QueueConfig } from "@imagen/core";
import { createFsBlobStore } from "./fs-blob-store.js";
import { MAX_UPLOAD_TTL_MS, startRetentionSweeps, sweepExpired, type RetentionPolicy } from "./retention-sweep.js";
import { closeSqliteDatabase, openSqliteDatabase } from "./sqlite-database.js";
import { createSqliteJobQueue } from "./sqlite-job-queue.js";
import { createSqliteJobStore } from "./sqlite-job-store.js";

export interface LocalBackendOptions {
  /** Shared by every process of one deployment (API and workers); created when missing. */
  dataDir: string;
  queue: QueueConfig;
  log?: Logger | undefined;
  /**
   * Removes expired jobs and blobs now and then every `intervalMs` (one process of a deployment
   * does: the worker). Unset: nothing is removed.
   */
  retention?: { jobTtlMs: number; intervalMs: number } | undefined;
}

const HOUR_MS = 60 * 60 * 1000;
export const RETENTION_SWEEP_INTERVAL_MS = HOUR_MS;

export type LocalBackend = Backend;

/**
 * The three ports on one data directory: jobs and queue messages in `<dataDir>/imagen.db` (one
 * SQLite file, one connection each), blobs under `<dataDir>/blobs/`. Processes that open the same
 * directory see one another's jobs, messages and blobs.
 */
export function createLocalBackend(options: LocalBackendOptions): LocalBackend {
  mkdirSync(options.dataDir, { recursive: true });
  const file = join(options.dataDir, "imagen.db");
  const jobs = createSqliteJobStore({ file });
  const queue = createSqliteJobQueue({ file, ...options.queue, log: options.log });
  const blobRoot = join(options.dataDir, "blobs");
  const blobs = createFsBlobStore({ root: blobRoot });
  const backend = composeBackend({ jobs, queue, blobs });
  if (!options.retention) return backend;

  const db = openSqliteDatabase(file);
  const policy: RetentionPolicy = { jobTtlMs: options.retention.jobTtlMs, orphanUploadTtlMs: MAX_UPLOAD_TTL_MS };
  const sweeps = startRetentionSweeps({
    sweep: () => sweepExpired(db, blobRoot, policy, new Date()),
    intervalMs: options.retention.intervalMs,
    log: options.log,
  });
  return {
    ...backend,
    async close() {
      await sweeps.stop();
      closeSqliteDatabase(db);
      await backend.close();
    },
  };
}
