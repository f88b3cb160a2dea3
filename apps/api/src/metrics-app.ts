import type { Logger } from "@imagen/core";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { registerErrorHandler } from "./error-handler.js";

/** `GET /metrics`: the registry in Prometheus text. */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
}

/**
 * The listener of `METRICS_PORT`: `/metrics` alone, so the scrape port can stay inside the cluster
 * while the API port is public. It does not listen itself.
 */
export async function buildMetricsApp(deps: { registry: Registry; log: Logger }): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.log;
  const app = Fastify({ loggerInstance: logger, disableRequestLogging: true });
  registerErrorHandler(app);
  registerMetricsRoute(app, deps.registry);
  return app;
}
