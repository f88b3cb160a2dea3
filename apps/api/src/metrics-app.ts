import type { Logger } from "@imagen/core";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { registerErrorHandler } from "./error-handler.js";

/** What `GET /metrics` answers: Prometheus text and its content type. */
export interface MetricsSource {
  contentType: string;
  metrics(): Promise<string>;
}

/** A registry as it is. */
export function registryMetrics(registry: Registry): MetricsSource {
  return { contentType: registry.contentType, metrics: () => registry.metrics() };
}

/** `GET /metrics`: the source in Prometheus text. */
export function registerMetricsRoute(app: FastifyInstance, source: MetricsSource): void {
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) =>
    reply.type(source.contentType).send(await source.metrics()),
  );
}

/**
 * The listener of `METRICS_PORT`: `/metrics` alone, so the scrape port can stay inside the cluster
 * while the API port is public. It does not listen itself.
 */
export async function buildMetricsApp(deps: { source: MetricsSource; log: Logger }): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.log;
  const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }) });
  registerErrorHandler(app);
  registerMetricsRoute(app, deps.source);
  return app;
}
