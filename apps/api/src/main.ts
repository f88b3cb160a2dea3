import { backendProblems, createBackend, modelSourceFor } from "@imagen/backends";
import { createLogger, loadConfigOrExit, onShutdownSignal } from "@imagen/core";
import { configureSharp, createModelRegistry, loadManifest } from "@imagen/catalogue";
import { collectDefaultMetrics, Registry } from "prom-client";
import { buildApp } from "./app.js";
import { loadApiConfig } from "./config.js";
import { startEmbeddedWorker } from "./embedded-worker.js";
import { withEmbeddedWorkerMetrics } from "./embedded-worker-metrics.js";
import { buildMetricsApp, registryMetrics } from "./metrics-app.js";

// The child's own drain (WORKER_DRAIN_TIMEOUT_MS, 30 s by default) plus closing its pool and backend.
const EMBEDDED_WORKER_STOP_MS = 60_000;

const config = loadConfigOrExit(() => loadApiConfig(process.env));
const log = createLogger({ service: "imagen-api", level: config.logLevel });
configureSharp({ concurrency: 0, cacheMb: 0 });
const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

const backend = await createBackend(config.backend, log);
const worker = config.embeddedWorker ? loadConfigOrExit(() => startEmbeddedWorker({ env: process.env, log })) : null;
const metricsSource = worker ? withEmbeddedWorkerMetrics(metricsRegistry, worker) : registryMetrics(metricsRegistry);
const app = await buildApp(
  {
    ...backend,
    models: createModelRegistry({
      manifest: await loadManifest(config.models.manifestPath),
      modelDir: config.models.modelDir,
      // What the embedded worker could download counts as there.
      ...(worker && config.modelSource && { source: await modelSourceFor(config.modelSource, config.backend) }),
    }),
    log,
    metricsRegistry,
    metricsSource,
    readiness: async () => [...(await backendProblems(backend)), ...(worker?.problems() ?? [])],
    localRun: worker ?? undefined,
  },
  config,
);
const metricsApp = config.metricsPort === undefined ? null : await buildMetricsApp({ source: metricsSource, log });

onShutdownSignal(log, async () => {
  const forceClose = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
  await Promise.all([app.close(), metricsApp?.close(), worker?.stop(EMBEDDED_WORKER_STOP_MS)]);
  clearTimeout(forceClose);
  await backend.close();
  log.info("stopped");
});

await app.listen({ host: config.host, port: config.port });
if (metricsApp) await metricsApp.listen({ host: config.host, port: config.metricsPort });
log.info(
  {
    backend: config.backend.kind,
    embeddedWorker: Boolean(worker),
    apiKeys: config.apiKeys.length,
    metricsPort: config.metricsPort ?? config.port,
  },
  "api started",
);
