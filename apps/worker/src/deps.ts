import { createLocalBackend } from "@imagen/backend-local";
import type { BackendConfig, BlobStore, JobQueue, JobStore, Logger } from "@imagen/core";

export interface Backend {
  jobs: JobStore;
  queue: JobQueue;
  blobs: BlobStore;
  close(): Promise<void>;
}

/** The one place that picks the backend adapters from config. */
export function createBackend(config: BackendConfig, log: Logger): Backend {
  switch (config.kind) {
    case "local":
      return createLocalBackend({ dataDir: config.dataDir, queue: config.queue, log });
  }
}
