export { createSqliteJobStore, type SqliteJobStoreOptions } from "./sqlite-job-store.js";
export { createSqliteJobQueue, type SqliteJobQueue, type SqliteJobQueueOptions } from "./sqlite-job-queue.js";
export { createFsBlobStore, type FsBlobStoreOptions } from "./fs-blob-store.js";
export { createLocalBackend, type LocalBackend, type LocalBackendOptions } from "./local-backend.js";
export { readLocalConfig, type LocalConfig } from "./local-config.js";
