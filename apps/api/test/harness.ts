import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createLocalBackend } from "@imagen/backend-local";
import { createLogger, OP_NAMES, type BlobStore, type ImageLimits } from "@imagen/core";
import { createModelRegistry, loadManifest } from "@imagen/catalogue";
import { writeTestModels } from "@imagen/testing/stack";
import type { FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import { buildApp, type AppOptions } from "../src/app.js";
import type { LocalRun } from "../src/local-run.js";
import { startProcess, stopProcess, WORKER_MAIN } from "./processes.js";

export const LIMITS: ImageLimits = {
  maxUploadBytes: 2_000_000,
  maxInputPixels: 1_000_000,
  maxOutputPixels: 4_000_000,
  maxHeifPixels: 24_000_000,
  decodeTimeoutS: 30,
};
const QUEUE = { leaseMs: 2_000, pollIntervalMs: 20, maxAttempts: 3, backoffBaseMs: 10, backoffMaxMs: 50 };
// The same queue settings for a worker process.
const QUEUE_ENV = {
  QUEUE_LEASE_MS: String(QUEUE.leaseMs),
  QUEUE_POLL_INTERVAL_MS: String(QUEUE.pollIntervalMs),
  QUEUE_MAX_ATTEMPTS: String(QUEUE.maxAttempts),
  QUEUE_BACKOFF_BASE_MS: String(QUEUE.backoffBaseMs),
  QUEUE_BACKOFF_MAX_MS: String(QUEUE.backoffMaxMs),
};

/**
 * The API built by `buildApp` on a real local backend in a temp dir, for `inject()`; `startWorker`
 * adds a worker on the same backend, assembled from config as `npm start` does.
 */
export async function createApiHarness(
  options: {
    limits?: Partial<ImageLimits>;
    readiness?: () => Promise<string[]>;
    modelsAreLocal?: boolean;
    localRun?: LocalRun;
    /** Edge settings (API keys, quotas, webhooks, ...) for `buildApp`; the rest take their defaults. */
    edge?: Omit<Partial<AppOptions>, "limits">;
    /** The API's view of the local blob store, e.g. one that signs result URLs as GCS does. */
    blobs?: (local: BlobStore) => BlobStore;
  } = {},
) {
  const dir = await mkdtemp(path.join(tmpdir(), "imagen-api-"));
  const models = await writeTestModels(dir);
  const log = createLogger({ service: "api-test", level: "silent" });
  const dataDir = path.join(dir, "data");
  const backend = createLocalBackend({ dataDir, queue: QUEUE, log });
  const limits = { ...LIMITS, ...options.limits };
  const registry = createModelRegistry({
    manifest: await loadManifest(models.manifestPath),
    modelDir: models.modelDir,
  });
  const build = (parts: typeof backend) =>
    buildApp(
      {
        ...parts,
        blobs: options.blobs ? options.blobs(parts.blobs) : parts.blobs,
        models: registry,
        // As with an embedded worker that runs every op, unless a test says the models are elsewhere.
        localRun: (options.modelsAreLocal ?? true) ? (options.localRun ?? { opProblem: () => null }) : undefined,
        log,
        metricsRegistry: new Registry(),
        readiness: options.readiness ?? (async () => []),
      },
      { resultUrlTtlS: 60, uploadUrlTtlS: 60, ...options.edge, limits },
    );
  const app: FastifyInstance = await build(backend);
  const stops: (() => Promise<void>)[] = [];

  return {
    app,
    ...backend,
    dataDir,
    modelDir: models.modelDir,
    /** Listens on a free loopback port (for streams, which `inject()` cannot read as they arrive); the base URL. */
    async listen(): Promise<string> {
      await app.listen({ host: "127.0.0.1", port: 0 });
      return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    },
    /** Starts the worker's build as its own process on the same data dir, as `npm start` does. */
    async startWorker(): Promise<void> {
      const worker = startProcess(WORKER_MAIN, {
        IMAGEN_DATA_DIR: dataDir,
        IMAGEN_MODEL_DIR: models.modelDir,
        IMAGEN_MODEL_MANIFEST: models.manifestPath,
        IMAGEN_WORKER_OPS: "upscale,enhance",
        WORKER_PROGRESS_INTERVAL_MS: "0",
        WORKER_PORT: "0",
        ...Object.fromEntries(Object.entries(QUEUE_ENV)),
      });
      stops.push(async () => void (await stopProcess(worker)));
    },
    /** A second API on the same data dir, as after a restart; closed with the harness. */
    async reopenApp(): Promise<FastifyInstance> {
      const again = createLocalBackend({ dataDir, queue: QUEUE, log });
      const reopened = await build(again);
      stops.push(async () => {
        await reopened.close();
        await again.close();
      });
      return reopened;
    },
    /** Input blobs on disk: an upload that was refused must leave none. */
    async storedInputs(): Promise<string[]> {
      return readdir(path.join(dataDir, "blobs", "inputs")).catch(() => []);
    },
    /** Messages any consumer could receive within `waitMs` (a bounded wait to show there are none). */
    async queuedMessages(waitMs = 300): Promise<number> {
      let count = 0;
      const consumers = OP_NAMES.map((op) =>
        backend.queue.consume(op, async () => void (count += 1), { concurrency: 10 }),
      );
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      await Promise.all(consumers.map((c) => c.close()));
      return count;
    },
    async close(): Promise<void> {
      for (const stop of stops) await stop();
      await app.close();
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type ApiHarness = Awaited<ReturnType<typeof createApiHarness>>;

/** A multipart body as a client sends it; `file` is omitted when undefined. */
export function multipart(fields: { op?: string; options?: string; file?: Buffer; filename?: string }) {
  const form = new FormData();
  if (fields.op !== undefined) form.set("op", fields.op);
  if (fields.options !== undefined) form.set("options", fields.options);
  if (fields.file) form.set("file", new Blob([fields.file]), fields.filename ?? "photo.bin");
  return form;
}
