export { createSqliteJobStore, type SqliteJobStoreOptions } from "./sqlite-job-store.js";
export { createSqliteJobQueue, type SqliteJobQueue, type SqliteJobQueueOptions } from "./sqlite-job-queue.js";
export { createFsBlobStore, type FsBlobStoreOptions } from "./fs-blob-store.js";
export {
  createLocalBackend,
  RETENTION_SWEEP_INTERVAL_MS,
  type LocalBackend,
  type LocalBackendOptions,
} from "./local-backend.js";
export { sweepExpired, type RetentionPolicy, type SweepResult } from "./retention-sweep.js";
export { readLocalConfig, type LocalConfig } from "./local-config.js";
