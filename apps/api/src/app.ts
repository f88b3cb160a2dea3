import { randomUUID } from "node:crypto";
import multipart from "@fastify/multipart";
import type { BlobStore, ImageLimits, JobQueue, JobStore, Logger } from "@imagen/core";
import type { ModelRegistry } from "@imagen/catalogue";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { registerApiKeyAuth } from "./api-keys.js";
import { registerApiSchemas } from "./api-schemas.js";
import { defaultEdgeConfig, type EdgeConfig, type ServerTimeouts } from "./config.js";
import { registerErrorHandler } from "./error-handler.js";
import { createApiMetrics, registerHttpMetrics } from "./http-metrics.js";
import { createJobWatcher } from "./job-watch.js";
import { registerGuardedJsonParser } from "./json-body.js";
import type { LocalRun } from "./local-run.js";
import { registerMetricsRoute, registryMetrics, type MetricsSource } from "./metrics-app.js";
import { methodNotAllowed } from "./method-not-allowed.js";
import { registerOpenApi } from "./openapi.js";
import { overloadReasons, registerOverloadShedding } from "./overload.js";
import { registerRateLimit } from "./rate-limit.js";
import { healthRoutes } from "./routes/health.js";
import { jobEventRoutes } from "./routes/job-events.js";
import { jobRoutes } from "./routes/jobs.js";
import { opsRoutes } from "./routes/ops.js";
import { uploadRoutes } from "./routes/uploads.js";
import { webRoutes } from "./routes/web.js";
import { registerSecurityHeaders } from "./security-headers.js";
import { createWatchSlots, type WatchLimits } from "./watch-slots.js";

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
  /** What `/metrics` serves; default: `metricsRegistry` (`npm start` adds its embedded worker's). */
  metricsSource?: MetricsSource;
  /** What keeps the service from being ready (backends, an embedded worker's models); empty when ready. */
  readiness: () => Promise<string[]>;
}

/** How the API follows jobs for event streams and `Prefer: wait`, and how many it follows at once. */
export interface JobWatchOptions extends WatchLimits {
  pollIntervalMs: number;
  /** Between comment lines on a quiet event stream. */
  heartbeatMs: number;
}

export const DEFAULT_JOB_WATCH: JobWatchOptions = {
  // Workers write progress every WORKER_PROGRESS_INTERVAL_MS (500 ms by default): polling twice as
  // often sees each write; on Firestore it is 4 document reads a second per open watch.
  pollIntervalMs: 250,
  // Well under the idle timeouts (30-60 s) of common proxies and load balancers.
  heartbeatMs: 15_000,
  // A web page or CLI watches a few jobs at once; 100 per key leaves room for batches while one
  // client cannot take an instance's 1000, which bound its store reads (4000 a second at most).
  maxOpenPerKey: 100,
  maxOpen: 1000,
};

/** `ApiConfig` fits; the edge settings not given take their defaults (`defaultEdgeConfig`). */
export interface AppOptions extends Partial<EdgeConfig> {
  limits: ImageLimits;
  resultUrlTtlS: number;
  uploadUrlTtlS: number;
  /** Defaults: `DEFAULT_JOB_WATCH`. */
  jobWatch?: Partial<JobWatchOptions>;
}

// Route patterns by what guards them; the rest (the page, /docs, /openapi.json) is open.
const needsApiKey = (url: string | undefined) => url?.startsWith("/v1/") === true || url === "/metrics";
const isRateLimited = (url: string | undefined) => url?.startsWith("/v1/") === true;
const isSheddable = (url: string | undefined) => url !== "/healthz" && url !== "/readyz" && url !== "/metrics";

/** Node's server timeouts; Node checks them once per `connectionsCheckingInterval`. */
function serverTimeoutOptions(timeouts: ServerTimeouts) {
  return {
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    http: {
      requestTimeout: timeouts.requestTimeoutMs,
      headersTimeout: timeouts.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, timeouts.headersTimeoutMs),
    },
  };
}

/** The HTTP API, ready for `inject()` or `listen()`; it does not listen itself. */
export async function buildApp(deps: AppDeps, options: AppOptions): Promise<FastifyInstance> {
  const edge: EdgeConfig = { ...defaultEdgeConfig(), ...options };
  // pino's Logger is a FastifyBaseLogger; naming the base type keeps FastifyInstance at its defaults.
  const logger: FastifyBaseLogger = deps.log;
  const app = Fastify({
    loggerInstance: logger,
    requestIdHeader: "x-request-id",
    genReqId: () => randomUUID(),
    // The upload limit is enforced by multipart; this only bounds the non-file parts of a request.
    bodyLimit: 1024 * 1024,
    // Longer than any id the schemas accept, so that an over-long one is their 400, not a bare 414.
    routerOptions: { maxParamLength: 2048 },
    // A body property no schema names is refused (400), not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    ...serverTimeoutOptions(edge.timeouts),
  });
  if (edge.apiKeys.length === 0) {
    deps.log.warn(
      { variables: ["IMAGEN_API_KEYS", "IMAGEN_API_KEYS_FILE"] },
      "no api keys configured: every /v1 route is open",
    );
  }
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  registerErrorHandler(app);
  registerApiSchemas(app, deps.models);
  const metrics = createApiMetrics(deps.metricsRegistry);
  registerHttpMetrics(app, metrics);
  registerGuardedJsonParser(app);

  // In hook order: headers first (so every refusal carries them), then shedding, key, rate limit.
  await registerSecurityHeaders(app, { corsOrigins: edge.corsOrigins });
  await registerOverloadShedding(app, edge.overload, isSheddable);
  registerApiKeyAuth(app, { keys: edge.apiKeys, isProtected: needsApiKey });
  await registerRateLimit(app, { perMin: edge.rateLimitPerMin, isLimited: isRateLimited });

  await app.register(multipart, {
    limits: { fileSize: options.limits.maxUploadBytes, files: 1, fields: 4, fieldSize: 64 * 1024, parts: 5 },
  });
  await registerOpenApi(app, {
    keysOn: edge.apiKeys.length > 0,
    rateLimitOn: edge.rateLimitPerMin > 0,
    needsApiKey,
    isRateLimited,
    isSheddable,
  });

  const wrongMethods = methodNotAllowed(
    app,
    (url) => url.startsWith("/v1/") || url === "/healthz" || url === "/readyz",
  );
  wrongMethods.collect();
  const jobWatch = { ...DEFAULT_JOB_WATCH, ...options.jobWatch };
  const watcher = createJobWatcher(deps.jobs, jobWatch);
  const slots = createWatchSlots(jobWatch);
  // Open streams and waits end first, so that closing does not wait on them.
  app.addHook("preClose", () => watcher.close());
  await app.register(jobRoutes, {
    ...deps,
    limits: options.limits,
    jobsCreated: metrics.jobsCreated,
    watchesOpen: metrics.watchesOpen,
    resultUrlTtlS: options.resultUrlTtlS,
    quotas: edge.quotas,
    webhooks: edge.webhooks,
    watcher,
    slots,
  });
  await app.register(jobEventRoutes, {
    jobs: deps.jobs,
    watcher,
    slots,
    heartbeatMs: jobWatch.heartbeatMs,
    watchesOpen: metrics.watchesOpen,
  });
  await app.register(uploadRoutes, { blobs: deps.blobs, limits: options.limits, uploadUrlTtlS: options.uploadUrlTtlS });
  await app.register(opsRoutes, { models: deps.models, localRun: deps.localRun });
  await app.register(healthRoutes, {
    problems: async () => [
      ...(await deps.readiness()),
      ...overloadReasons(app.memoryUsage(), edge.overload).map((reason) => `overloaded: ${reason}`),
    ],
  });
  await app.register(webRoutes);
  if (edge.metricsPort === undefined)
    registerMetricsRoute(app, deps.metricsSource ?? registryMetrics(deps.metricsRegistry));
  wrongMethods.register();
  return app;
}
