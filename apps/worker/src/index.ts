export { assembleWorker } from "./assemble.js";
export { loadWorkerConfig, type WorkerConfig } from "./config.js";
export { createWorker, type Worker, type WorkerDeps, type WorkerOptions } from "./worker.js";
export { createWorkerMetrics, type WorkerMetrics } from "./metrics.js";
export {
  createWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
} from "./webhook-dispatcher.js";
