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

export async function backendProblems(backend: Backend): Promise<string[]> {
  const checks = [
    ["job store", backend.jobs.ping()],
    ["queue", backend.queue.ping()],
    ["blob store", backend.blobs.ping()],
  ] as const;
  const problems: string[] = [];
  for (const [name, check] of checks) {
    try {
      await check;
    } catch (err) {
      problems.push(`${name} unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}
