import type { OpName } from "./ops.js";

/**
 * What a worker started as the API's child process (`npm start`) tells its parent over the IPC
 * channel, each time its state changes: the API answers `OP_UNAVAILABLE` and `/readyz` from it.
 */
export interface WorkerStatusMessage {
  kind: "imagen-worker-status";
  /** Readiness problems, one line each (empty when every op is consumed). */
  problems: string[];
  /** Per op, why this worker will not run it, in words for a client; absent while it runs it or is starting it. */
  opProblems: Partial<Record<OpName, string>>;
}

export function isWorkerStatusMessage(value: unknown): value is WorkerStatusMessage {
  return (
    isObject(value) &&
    value["kind"] === "imagen-worker-status" &&
    Array.isArray(value["problems"]) &&
    isObject(value["opProblems"])
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** The API of `npm start` asking its worker for its metrics, to serve them on its own `/metrics`. */
export interface WorkerMetricsRequest {
  kind: "imagen-worker-metrics-request";
  id: number;
}

/** The answer: the worker's registry as prom-client's `getMetricsAsJSON()` gives it, or why not. */
export type WorkerMetricsReply = { kind: "imagen-worker-metrics"; id: number } & (
  { metrics: unknown[] } | { error: string }
);

export function isWorkerMetricsRequest(value: unknown): value is WorkerMetricsRequest {
  return isObject(value) && value["kind"] === "imagen-worker-metrics-request" && typeof value["id"] === "number";
}

export function isWorkerMetricsReply(value: unknown): value is WorkerMetricsReply {
  return (
    isObject(value) &&
    value["kind"] === "imagen-worker-metrics" &&
    typeof value["id"] === "number" &&
    (Array.isArray(value["metrics"]) || typeof value["error"] === "string")
  );
}
