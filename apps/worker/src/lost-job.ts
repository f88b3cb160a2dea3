import type { JobExpectation, JobRun, UpdateResult } from "@imagen/core";
import type { JobOutcome } from "./metrics.js";

/** What every write of a run expects: the job still running under the claim that gave it the run. */
export function heldBy(run: JobRun): JobExpectation {
  return { status: "running", attempts: run.attempt, runId: run.runId };
}

/**
 * Why a run stopped holding its job, as the reason its cancel signal aborts with: the job was
 * canceled or deleted, or another run took it over (a redelivery while this run was still alive).
 */
export class JobLostError extends Error {
  constructor(readonly superseded: boolean) {
    super(superseded ? "job was taken over by another run" : "job is no longer running");
    this.name = "JobLostError";
  }
}

/** Log fields for a refused write: what the job is now and which run holds it (`missing` when it is gone). */
export function holderOf(result: Exclude<UpdateResult, { ok: true }>): {
  status: string;
  heldByAttempt: number | null;
  heldByRun: string | null;
} {
  const current = result.reason === "conflict" ? result.current : null;
  return {
    status: current?.status ?? "missing",
    heldByAttempt: current?.attempts ?? null,
    heldByRun: current?.runId ?? null,
  };
}

/** The loss a refused write of `run` reveals: superseded when another run has claimed the job since. */
export function jobLost(result: Exclude<UpdateResult, { ok: true }>, run: JobRun): JobLostError {
  return new JobLostError(result.reason === "conflict" && result.current.runId !== run.runId);
}

/** The outcome of a run whose job was lost for `reason` (a `JobLostError`, or a plain cancel). */
export function lostOutcome(reason: unknown): JobOutcome {
  return reason instanceof JobLostError && reason.superseded ? "superseded" : "canceled";
}
