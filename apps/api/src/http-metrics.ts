import type { FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export function createApiMetrics(registry: Registry) {
  const watchesOpen = new Gauge({
    name: "api_job_watches_open",
    help: "Open job watches (each polls the job store), by kind: events (SSE streams) or wait (Prefer: wait)",
    labelNames: ["kind"],
    registers: [registry],
  });
  // Both series from the start, so that a dashboard shows 0 rather than nothing.
  for (const kind of ["events", "wait"]) watchesOpen.set({ kind }, 0);
  return {
    jobsCreated: new Counter({
      name: "api_jobs_created_total",
      help: "Jobs accepted, by op",
      labelNames: ["op"],
      registers: [registry],
    }),
    requests: new Histogram({
      name: "api_http_request_duration_seconds",
      help: "HTTP request duration, by method, route and status code",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    watchesOpen,
  };
}

/** Times every request; the route label is the route pattern, never the raw URL (bounded labels). */
export function registerHttpMetrics(app: FastifyInstance, metrics: ReturnType<typeof createApiMetrics>): void {
  app.addHook("onResponse", async (request, reply) => {
    metrics.requests.observe(
      { method: request.method, route: request.routeOptions.url ?? "unmatched", status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
