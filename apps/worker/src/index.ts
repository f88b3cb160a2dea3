export { assembleWorker } from "./assemble.js";
export { loadWorkerConfig, type WorkerConfig } from "./config.js";
export { createBackend, type Backend } from "./deps.js";
export { backendProblems } from "./health-server.js";
export { createWorker, type Worker, type WorkerDeps, type WorkerOptions } from "./worker.js";
export { createWorkerMetrics, type WorkerMetrics } from "./metrics.js";
