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
    typeof value === "object" &&
    value !== null &&
    (value as Partial<WorkerStatusMessage>).kind === "imagen-worker-status" &&
    Array.isArray((value as Partial<WorkerStatusMessage>).problems) &&
    typeof (value as Partial<WorkerStatusMessage>).opProblems === "object" &&
    (value as Partial<WorkerStatusMessage>).opProblems !== null
  );
}
