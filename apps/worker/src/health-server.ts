import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { Logger } from "@imagen/core";
import type { Worker } from "./worker.js";
import type { Backend } from "./deps.js";

/** The standalone worker's probe and metrics endpoints (Kubernetes probes, Prometheus scrapes). */
export function buildHealthServer(deps: {
  worker: Worker;
  backend: Backend;
  metricsRegistry: Registry;
  log: Logger;
}): FastifyInstance {
  const logger: FastifyBaseLogger = deps.log.child({ component: "health" });
  // Probes and scrapes come every few seconds; a log line each would drown the job logs.
  const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }) });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const problems = [...deps.worker.problems(), ...(await backendProblems(deps.backend))];
    return reply
      .code(problems.length === 0 ? 200 : 503)
      .send({ status: problems.length === 0 ? "ready" : "not-ready", problems });
  });
  app.get("/metrics", async (_request, reply) =>
    reply.type(deps.metricsRegistry.contentType).send(await deps.metricsRegistry.metrics()),
  );
  return app;
}

/**
 * What keeps the backends from being ready, one line each. The three pings run at once and are
 * settled together: one failing fast while another is still pending is a problem to report, never
 * an unhandled rejection.
 */
export async function backendProblems(backend: Backend): Promise<string[]> {
  const names = ["job store", "queue", "blob store"] as const;
  const outcomes = await Promise.allSettled([backend.jobs.ping(), backend.queue.ping(), backend.blobs.ping()]);
  return outcomes.flatMap((outcome, i) =>
    outcome.status === "rejected"
      ? [
          `${names[i]} unreachable: ${outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)}`,
        ]
      : [],
  );
}
