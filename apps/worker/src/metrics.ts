import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type JobOutcome = "succeeded" | "failed" | "canceled" | "superseded" | "retried" | "released" | "dead-lettered";

/** How one webhook try ended: sent, to be tried again, or given up on. */
export type WebhookOutcome = "delivered" | "retried" | "failed";

export interface WorkerMetrics {
  jobsTotal: Counter<"op" | "outcome">;
  jobDuration: Histogram<"op" | "outcome">;
  stageDuration: Histogram<"op" | "stage">;
  inFlight: Gauge<"op">;
  webhookDeliveries: Counter<"outcome">;
  webhookDuration: Histogram<"outcome">;
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
    webhookDeliveries: new Counter({
      name: "worker_webhook_deliveries_total",
      help: "Webhook delivery tries, by outcome (delivered, retried, failed: given up)",
      labelNames: ["outcome"],
      registers,
    }),
    webhookDuration: new Histogram({
      name: "worker_webhook_delivery_duration_seconds",
      help: "Wall time of one webhook delivery try, by outcome",
      labelNames: ["outcome"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}
