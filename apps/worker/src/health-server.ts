import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { backendProblems } from "@imagen/backends";
import type { Backend, Logger } from "@imagen/core";
import type { Worker } from "./worker.js";

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
