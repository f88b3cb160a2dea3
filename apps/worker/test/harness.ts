import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createLocalBackend } from "@imagen/backend-local";
import {
  createLogger,
  inputKey,
  newJobId,
  newQueuedJob,
  parseOptions,
  type Job,
  type OpName,
  type OpOptions,
  type WebhookState,
} from "@imagen/core";
import {
  createModelRegistry,
  createPipelines,
  createSessionCache,
  loadManifest,
  type Pipelines,
} from "@imagen/imaging";
import { writeTestModels } from "@imagen/testing/stack";
import { Registry } from "prom-client";
import { createWorkerMetrics } from "../src/metrics.js";
import { createWebhookDispatcher, type WebhookDispatcherOptions } from "../src/webhook-dispatcher.js";
import { createWorker, type Worker, type WorkerOptions } from "../src/worker.js";

export const LIMITS = {
  maxUploadBytes: 10_000_000,
  maxInputPixels: 4_000_000,
  maxOutputPixels: 64_000_000,
  maxHeifPixels: 24_000_000,
  decodeTimeoutS: 30,
};
export const QUEUE = { leaseMs: 1_000, pollIntervalMs: 20, maxAttempts: 3, backoffBaseMs: 10, backoffMaxMs: 50 };

/** A worker on a real local backend in a temp dir, with real pipelines over tiny ONNX models. */
export async function createHarness(options: { slowUpscale?: boolean } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), "imagen-worker-"));
  const models = await writeTestModels(dir, options);
  const log = createLogger({ service: "worker-test", level: "silent" });
  const backend = createLocalBackend({ dataDir: path.join(dir, "data"), queue: QUEUE, log });
  const registry = createModelRegistry({
    manifest: await loadManifest(models.manifestPath),
    modelDir: models.modelDir,
  });
  const sessions = createSessionCache({ executionProvider: "cpu" });
  const pipelines = createPipelines({ registry, sessions, limits: LIMITS });
  const workers: Worker[] = [];

  return {
    ...backend,
    dir,
    models,
    pipelines,
    /**
     * Starts a worker; `pipelines` may wrap the real ones to inject a failure or a cancel; with
     * `webhooks`, it sends webhooks.
     */
    async startWorker(
      overrides: Partial<WorkerOptions> & { pipelines?: Pipelines; webhooks?: WebhookDispatcherOptions } = {},
    ): Promise<Worker> {
      const metrics = createWorkerMetrics(new Registry());
      const worker = createWorker(
        {
          ...backend,
          pipelines: overrides.pipelines ?? pipelines,
          metrics,
          log,
          webhooks:
            overrides.webhooks && createWebhookDispatcher({ jobs: backend.jobs, metrics, log }, overrides.webhooks),
        },
        { ops: ["upscale"], concurrency: 1, drainTimeoutMs: 5_000, progressIntervalMs: 0, ...overrides },
      );
      workers.push(worker);
      await worker.start();
      return worker;
    },
    /**
     * What the API does on submit: input stored, job recorded, message published. `stored` puts
     * options into the job exactly as given, unparsed (a job written by an older version);
     * `webhookUrl` gives the job a webhook.
     */
    async submit(
      op: OpName,
      image: Buffer,
      rawOptions: unknown = {},
      stored?: Record<string, unknown>,
      webhookUrl?: string,
    ): Promise<Job> {
      const job = newQueuedJob(
        {
          id: newJobId(),
          op,
          options: (stored as OpOptions | undefined) ?? parseOptions(op, rawOptions),
          input: { width: 0, height: 0, format: "png", bytes: image.length },
          ...(webhookUrl && { webhook: pendingWebhook(webhookUrl) }),
        },
        new Date(),
      );
      await backend.blobs.put(inputKey(job.id), image, { contentType: "image/png" });
      await backend.jobs.create(job);
      await backend.queue.publish(op, { jobId: job.id });
      return job;
    },
    async job(id: string): Promise<Job> {
      const job = await backend.jobs.get(id);
      if (!job) throw new Error(`job ${id} is gone`);
      return job;
    },
    async close(): Promise<void> {
      await Promise.all(workers.map((w) => w.stop()));
      await backend.close();
      await sessions.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;

/** A webhook as the API stores it at submission: pending, not due until the job ends. */
export function pendingWebhook(url: string): WebhookState {
  return { url, state: "pending", attempts: [], nextAttemptAt: null };
}
