import type { BlobStore } from "./ports/blob-store.js";
import type { JobQueue } from "./ports/job-queue.js";
import type { JobStore } from "./ports/job-store.js";

/** The three ports one backend provides, closed together. */
export interface Backend {
  jobs: JobStore;
  queue: JobQueue;
  blobs: BlobStore;
  /** Closes the queue first (held messages go back at once), then the stores. */
  close(): Promise<void>;
}

/** Bundles a backend's adapters with the one close order every backend needs. */
export function composeBackend(parts: Omit<Backend, "close">): Backend {
  return {
    ...parts,
    async close() {
      await parts.queue.close();
      await Promise.all([parts.jobs.close(), parts.blobs.close()]);
    },
  };
}
