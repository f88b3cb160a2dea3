import type { UpdateResult } from "@imagen/core";
import type { JobOutcome } from "./metrics.js";

/**
 * Why a run stopped holding its job, as the reason its cancel signal aborts with: the job was
 * canceled or deleted, or a newer attempt took it over (a redelivery while this run was still alive).
 */
export class JobLostError extends Error {
  constructor(readonly superseded: boolean) {
    super(superseded ? "job was taken over by a newer attempt" : "job is no longer running");
    this.name = "JobLostError";
  }
}

/** The loss a refused write of attempt `attempt` reveals. */
export function jobLost(result: Exclude<UpdateResult, { ok: true }>, attempt: number): JobLostError {
  return new JobLostError(result.reason === "conflict" && result.current.attempts !== attempt);
}

/** The outcome of a run whose job was lost for `reason` (a `JobLostError`, or a plain cancel). */
export function lostOutcome(reason: unknown): JobOutcome {
  return reason instanceof JobLostError && reason.superseded ? "superseded" : "canceled";
}
