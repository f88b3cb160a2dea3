import {
  isWorkerMetricsRequest,
  OP_NAMES,
  type OpName,
  type WorkerMetricsReply,
  type WorkerStatusMessage,
} from "@imagen/core";
import type { Registry } from "prom-client";
import type { Worker } from "./worker.js";

/** The worker's state as its parent process (the API of `npm start`) reads it. */
export function workerStatus(worker: Worker): WorkerStatusMessage {
  const opProblems: Partial<Record<OpName, string>> = {};
  for (const op of OP_NAMES) {
    const why = worker.opProblem(op);
    if (why !== null) opProblems[op] = why;
  }
  return { kind: "imagen-worker-status", problems: worker.problems(), opProblems };
}

/** Sends the status to the parent, when this process was started with an IPC channel; a no-op otherwise. */
export function reportToParent(worker: Worker): void {
  if (process.send && process.connected) process.send(workerStatus(worker));
}

/** A child whose parent went away (its IPC channel closed) shuts down as on SIGTERM, releasing its jobs. */
export function stopWithParent(): void {
  if (process.send) process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
}

/**
 * Answers the parent's metrics requests with `registry`, so that the API of `npm start` serves the
 * worker's metrics on its own `/metrics`; a no-op without an IPC channel.
 */
export function answerMetricsRequests(registry: Registry): void {
  if (!process.send) return;
  process.on("message", (message: unknown) => {
    if (!isWorkerMetricsRequest(message)) return;
    const reply = (body: { metrics: unknown[] } | { error: string }): void => {
      const answer: WorkerMetricsReply = { kind: "imagen-worker-metrics", id: message.id, ...body };
      if (process.send && process.connected) process.send(answer);
    };
    registry.getMetricsAsJSON().then(
      (metrics) => reply({ metrics }),
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
}
