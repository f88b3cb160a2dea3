import { randomUUID } from "node:crypto";
import multipart from "@fastify/multipart";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { BlobStore, ImageLimits, JobQueue, JobStore, Logger } from "@imagen/core";
import type { ModelRegistry } from "@imagen/imaging/catalogue";
import { Type } from "@sinclair/typebox";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { registerErrorHandler } from "./error-handler.js";
import type { LocalRun } from "./local-run.js";
import { createApiMetrics, registerHttpMetrics } from "./http-metrics.js";
import { healthRoutes } from "./routes/health.js";
import { jobRoutes } from "./routes/jobs.js";
import { opsRoutes } from "./routes/ops.js";
import { uploadRoutes } from "./routes/uploads.js";
import { webRoutes } from "./routes/web.js";

export interface AppDeps {
  jobs: JobStore;
  queue: JobQueue;
  blobs: BlobStore;
  models: ModelRegistry;
  /**
   * Set where this API runs the models through its own worker (the child process of `npm start`,
   * on the same model directory as `models`): `/v1/ops` tells which ops can run, and a job that
   * could not run here is refused with `OP_UNAVAILABLE`.
   */
  localRun: LocalRun | undefined;
  log: Logger;
  metricsRegistry: Registry;
  /** What keeps the service from being ready (backends, an embedded worker's models); empty when ready. */
  readiness: () => Promise<string[]>;
}

export interface AppOptions {
  limits: ImageLimits;
  resultUrlTtlS: number;
  uploadUrlTtlS: number;
}

const ErrorSchema = Type.Object(
  {
    error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
    requestId: Type.String(),
  },
  { $id: "Error" },
);

/** The HTTP API, ready for `inject()` or `listen()`; it does not listen itself. */
export async function buildApp(deps: AppDeps, options: AppOptions): Promise<FastifyInstance> {
  // pino's Logger is a FastifyBaseLogger; naming the base type keeps FastifyInstance at its defaults.
  const logger: FastifyBaseLogger = deps.log;
  const app = Fastify({
    loggerInstance: logger,
    requestIdHeader: "x-request-id",
    genReqId: () => randomUUID(),
    // The upload limit is enforced by multipart; this only bounds the non-file parts of a request.
    bodyLimit: 1024 * 1024,
  });
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  registerErrorHandler(app);
  app.addSchema(ErrorSchema);
  const metrics = createApiMetrics(deps.metricsRegistry);
  registerHttpMetrics(app, metrics);

  await app.register(multipart, {
    limits: { fileSize: options.limits.maxUploadBytes, files: 1, fields: 4, fieldSize: 64 * 1024, parts: 5 },
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Imagen API",
        version: "1.0.0",
        description: "Submit an image and an operation; get the processed image back.",
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  await app.register(jobRoutes, {
    ...deps,
    limits: options.limits,
    jobsCreated: metrics.jobsCreated,
    resultUrlTtlS: options.resultUrlTtlS,
  });
  await app.register(uploadRoutes, { blobs: deps.blobs, limits: options.limits, uploadUrlTtlS: options.uploadUrlTtlS });
  await app.register(opsRoutes, { models: deps.models, localRun: deps.localRun });
  await app.register(healthRoutes, { problems: deps.readiness });
  await app.register(webRoutes);
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) =>
    reply.type(deps.metricsRegistry.contentType).send(await deps.metricsRegistry.metrics()),
  );
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  return app;
}
