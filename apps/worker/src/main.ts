import { createBackend } from "@imagen/backends";
import { createLogger, loadConfigOrExit, onShutdownSignal } from "@imagen/core";
import { configureSharp } from "@imagen/imaging";
import { collectDefaultMetrics, Registry } from "prom-client";
import { assembleWorker } from "./assemble.js";
import { loadWorkerConfig } from "./config.js";
import { buildHealthServer } from "./health-server.js";
import { answerMetricsRequests, reportToParent, stopWithParent } from "./parent-status.js";

const config = loadConfigOrExit(() => loadWorkerConfig(process.env));
const log = createLogger({ service: "imagen-worker", level: config.logLevel });
configureSharp({ concurrency: 0, cacheMb: 0 });
const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

// The worker does the backend's upkeep (the local backend's retention sweep): every deployment has one.
const backend = await createBackend(config.backend, log, { maintenance: true });
const worker = await assembleWorker(config, { backend, log, metricsRegistry });
const health = buildHealthServer({ worker, backend, metricsRegistry, log });

onShutdownSignal(log, async () => {
  await worker.stop();
  await Promise.allSettled([health.close(), worker.closeSessions(), backend.close()]);
  log.info("worker stopped");
});

await health.listen({ host: config.host, port: config.port });
log.info(
  { ops: config.ops, backend: config.backend.kind, provider: config.models.executionProvider },
  "worker starting",
);
stopWithParent();
answerMetricsRequests(metricsRegistry);
reportToParent(worker);
await worker.start();
reportToParent(worker);
