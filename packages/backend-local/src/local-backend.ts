import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { composeBackend, type Backend, type Logger, type QueueConfig } from "@imagen/core";
import { createFsBlobStore } from "./fs-blob-store.js";
import { createSqliteJobQueue } from "./sqlite-job-queue.js";
import { createSqliteJobStore } from "./sqlite-job-store.js";

export interface LocalBackendOptions {
  /** Shared by every process of one deployment (API and workers); created when missing. */
  dataDir: string;
  queue: QueueConfig;
  log?: Logger | undefined;
}

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
  const blobs = createFsBlobStore({ root: join(options.dataDir, "blobs") });
  return composeBackend({ jobs, queue, blobs });
}
