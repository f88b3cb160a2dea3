import type { Backend, Logger } from "@imagen/core";
import { modelSourceFor } from "@imagen/backends";
import { createModelRegistry, createPipelinePool, loadManifest, type ModelRegistry } from "@imagen/imaging";
import type { Registry } from "prom-client";
import type { WorkerConfig } from "./config.js";
import { createWorkerMetrics, type WorkerMetrics } from "./metrics.js";
import { createWebhookDispatcher, type WebhookDispatcher } from "./webhook-dispatcher.js";
import { createWorker, type Worker } from "./worker.js";

/**
 * Builds a worker from its config on a backend that the caller owns: the standalone worker process
 * and the API's embedded worker (`npm start`) both start this way.
 */
export async function assembleWorker(
  config: WorkerConfig,
  shared: { backend: Backend; log: Logger; metricsRegistry: Registry },
): Promise<Worker & { registry: ModelRegistry; closeSessions(): Promise<void> }> {
  const manifest = await loadManifest(config.models.manifestPath);
  const registry = createModelRegistry({
    manifest,
    modelDir: config.models.modelDir,
    ...(config.modelSource && { source: await modelSourceFor(config.modelSource, config.backend) }),
    log: shared.log,
  });
  const pipelines = createPipelinePool({
    registry,
    manifest,
    modelDir: config.models.modelDir,
    executionProvider: config.models.executionProvider,
    deviceId: config.models.cudaDeviceId,
    budget: config.threads,
    limits: config.limits,
    ...(config.threadIdleMs > 0 && { idleThreadMs: config.threadIdleMs }),
    ...(config.maxTileMs > 0 && { maxTileMs: config.maxTileMs }),
    log: shared.log,
  });
  const metrics = createWorkerMetrics(shared.metricsRegistry);
  const worker = createWorker(
    {
      ...shared.backend,
      pipelines,
      metrics,
      log: shared.log.child({ component: "worker" }),
      webhooks: assembleWebhooks(config, { jobs: shared.backend.jobs, metrics, log: shared.log }),
    },
    config,
  );
  return { ...worker, registry, closeSessions: () => pipelines.close() };
}

function assembleWebhooks(
  config: WorkerConfig,
  deps: { jobs: Backend["jobs"]; metrics: WorkerMetrics; log: Logger },
): WebhookDispatcher | undefined {
  const { secret, ...options } = config.webhooks;
  const log = deps.log.child({ component: "webhooks" });
  if (!secret) {
    log.info("webhooks are not sent: IMAGEN_WEBHOOK_SECRET is unset, so they stay pending");
    return undefined;
  }
  return createWebhookDispatcher({ ...deps, log }, { ...options, secret });
}
