import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type JobOutcome = "succeeded" | "failed" | "canceled" | "superseded" | "retried" | "released" | "dead-lettered";

export interface WorkerMetrics {
  jobsTotal: Counter<"op" | "outcome">;
  jobDuration: Histogram<"op" | "outcome">;
  stageDuration: Histogram<"op" | "stage">;
  inFlight: Gauge<"op">;
}

/** Worker metrics, registered on the given registry; labels are bounded (op, outcome, stage). */
export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const registers = [registry];
  return {
    jobsTotal: new Counter({
      name: "worker_jobs_total",
      help: "Jobs handled, by op and outcome",
      labelNames: ["op", "outcome"],
      registers,
    }),
    jobDuration: new Histogram({
      name: "worker_job_duration_seconds",
      help: "Wall time of one job attempt, by op and outcome",
      labelNames: ["op", "outcome"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    stageDuration: new Histogram({
      name: "worker_stage_duration_seconds",
      help: "Time spent per pipeline stage (decode, infer, encode)",
      labelNames: ["op", "stage"],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    inFlight: new Gauge({
      name: "worker_jobs_in_flight",
      help: "Jobs running now, by op",
      labelNames: ["op"],
      registers,
    }),
  };
}
