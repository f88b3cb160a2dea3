import { createLogger, loadConfigOrExit, onShutdownSignal } from "@imagen/core";
import { configureSharp, createModelRegistry, loadManifest } from "@imagen/imaging";
import { assembleWorker, backendProblems, createBackend, loadWorkerConfig } from "@imagen/worker";
import { collectDefaultMetrics, Registry } from "prom-client";
import { buildApp } from "./app.js";
import { loadApiConfig } from "./config.js";

const config = loadConfigOrExit(() => loadApiConfig(process.env));
const workerConfig = config.embeddedWorker ? loadConfigOrExit(() => loadWorkerConfig(process.env)) : null;
const log = createLogger({ service: "imagen-api", level: config.logLevel });
configureSharp({ concurrency: 0, cacheMb: 0 });
const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

const backend = await createBackend(config.backend, log);
const worker = workerConfig && (await assembleWorker(workerConfig, { backend, log, metricsRegistry }));
const app = await buildApp(
  {
    ...backend,
    // The embedded worker's registry knows its model source too, so what it could download counts as there.
    models:
      worker?.registry ??
      createModelRegistry({
        manifest: await loadManifest(config.models.manifestPath),
        modelDir: config.models.modelDir,
      }),
    localRun: worker ?? undefined,
    log,
    metricsRegistry,
    readiness: async () => [...(await backendProblems(backend)), ...(worker?.problems() ?? [])],
  },
  config,
);

onShutdownSignal(log, async () => {
  const forceClose = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
  await Promise.all([app.close(), worker?.stop()]);
  clearTimeout(forceClose);
  await Promise.allSettled([worker?.closeSessions(), backend.close()]);
  log.info("stopped");
});

await app.listen({ host: config.host, port: config.port });
log.info({ backend: config.backend.kind, embeddedWorker: Boolean(worker) }, "api started");
await worker?.start();
