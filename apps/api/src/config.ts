import { readFileSync } from "node:fs";
import { getHeapStatistics } from "node:v8";
import { readBackendConfig, type BackendConfig } from "@imagen/backends";
import { EnvReader, readServiceConfig, type ServiceConfig } from "@imagen/core";
import { readModelSource, type ModelSourceSpec } from "@imagen/catalogue";
import { apiKeyEntriesOfFile, apiKeyEntriesOfList, parseApiKeys, type ApiKey } from "./api-keys.js";
import type { OverloadConfig } from "./overload.js";
import type { Quotas } from "./quotas.js";

export interface ServerTimeouts {
  /** The whole request, headers and body, must arrive within this. */
  requestTimeoutMs: number;
  /** The headers must arrive within this. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
}

export interface WebhookConfig {
  /** Accept `http://` webhook URLs as well as `https://`. */
  allowHttp: boolean;
  /** Accept webhook hosts on private, loopback and other internal addresses. */
  allowPrivate: boolean;
}

/** What guards the HTTP edge: keys, limits, timeouts, CORS, where metrics are served. */
export interface EdgeConfig {
  /** Empty: the API runs without keys, open to anyone who reaches it. */
  apiKeys: readonly ApiKey[];
  /** Requests a minute per key (per client address without keys) on `/v1`; 0: no limit. */
  rateLimitPerMin: number;
  overload: OverloadConfig;
  timeouts: ServerTimeouts;
  /** Origins allowed by CORS; empty: CORS off. */
  corsOrigins: readonly string[];
  /** Set: `/metrics` is served on this port only, not on the API's. */
  metricsPort: number | undefined;
  quotas: Quotas;
  webhooks: WebhookConfig;
}

/**
 * `models` lists the catalogue in `GET /v1/ops` and checks `options.model`; the API runs no model
 * itself, only starts the embedded worker of `npm start`, which also tells it what can run.
 */
export interface ApiConfig extends ServiceConfig, EdgeConfig {
  backend: BackendConfig;
  port: number;
  host: string;
  /** Starts a worker for every op as this process's child (`npm start`); off in production. */
  embeddedWorker: boolean;
  /**
   * The worker's IMAGEN_MODEL_SOURCE: with an embedded worker, a model file missing here but
   * downloadable from it counts as available (the child downloads it), so no OP_UNAVAILABLE.
   */
  modelSource: ModelSourceSpec | undefined;
  /** Lifetime of a signed result URL, where the blob store issues them. */
  resultUrlTtlS: number;
  /** Lifetime of a two-phase upload's PUT URL. */
  uploadUrlTtlS: number;
  /** On SIGTERM, how long in-flight requests may take before the server closes anyway. */
  shutdownTimeoutMs: number;
}

/** Parses the API's environment once, at start-up. Throws `ConfigError` naming each bad variable. */
export function loadApiConfig(env: Readonly<Record<string, string | undefined>>): Readonly<ApiConfig> {
  const reader = new EnvReader(env);
  const edge = readEdgeConfig(reader);
  const config: ApiConfig = {
    port: reader.int("PORT", 8080, { min: 0, max: 65535 }),
    // Without keys the API is open, so by default only this machine reaches it; containers set 0.0.0.0.
    host: reader.string("HOST", edge.apiKeys.length > 0 ? "0.0.0.0" : "127.0.0.1"),
    ...readServiceConfig(reader),
    backend: readBackendConfig(reader),
    // Off by default so a production API never runs models by accident; `npm start` turns it on.
    embeddedWorker: reader.bool("IMAGEN_EMBEDDED_WORKER", false),
    modelSource: readModelSource(reader),
    resultUrlTtlS: reader.int("RESULT_URL_TTL_S", 900, { min: 1, max: 7 * 24 * 3600 }),
    uploadUrlTtlS: reader.int("UPLOAD_URL_TTL_S", 900, { min: 1, max: 7 * 24 * 3600 }),
    shutdownTimeoutMs: reader.int("SHUTDOWN_TIMEOUT_MS", 10_000, { min: 0 }),
    ...edge,
  };
  if (config.metricsPort !== undefined && config.metricsPort !== 0 && config.metricsPort === config.port) {
    reader.problem(`METRICS_PORT: expected a port other than PORT (${config.port})`);
  }
  reader.done();
  return Object.freeze(config);
}

/** The edge settings of an empty environment: what `buildApp` uses for any it is not given. */
export function defaultEdgeConfig(): EdgeConfig {
  return readEdgeConfig(new EnvReader({}));
}

function readEdgeConfig(reader: EnvReader): EdgeConfig {
  return {
    apiKeys: readApiKeys(reader),
    // Ten a second per key is far above an interactive client and well below what one instance takes.
    rateLimitPerMin: reader.int("RATE_LIMIT_PER_MIN", 600, { min: 0 }),
    overload: readOverloadConfig(reader),
    timeouts: readServerTimeouts(reader),
    corsOrigins: readCorsOrigins(reader),
    metricsPort:
      reader.optionalString("METRICS_PORT") === undefined
        ? undefined
        : reader.int("METRICS_PORT", 0, { min: 0, max: 65535 }),
    quotas: {
      // Only keys are counted: without keys every job has the same (null) owner.
      maxActiveJobsPerKey: reader.int("MAX_ACTIVE_JOBS_PER_KEY", 100, { min: 0 }),
      maxQueuedJobs: reader.int("MAX_QUEUED_JOBS", 1000, { min: 0 }),
    },
    webhooks: {
      // Both off: a webhook is an https call to a public host unless an operator says otherwise.
      allowHttp: reader.bool("IMAGEN_WEBHOOK_ALLOW_HTTP", false),
      allowPrivate: reader.bool("IMAGEN_WEBHOOK_ALLOW_PRIVATE", false),
    },
  };
}

function readApiKeys(reader: EnvReader): ApiKey[] {
  const list = reader.optionalString("IMAGEN_API_KEYS");
  const file = reader.optionalString("IMAGEN_API_KEYS_FILE");
  if (list !== undefined && file !== undefined) {
    reader.problem("IMAGEN_API_KEYS and IMAGEN_API_KEYS_FILE are both set; expected one of them");
    return [];
  }
  if (list !== undefined) return keysOrProblems(reader, "IMAGEN_API_KEYS", apiKeyEntriesOfList(list));
  if (file === undefined) return [];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    reader.problem(`IMAGEN_API_KEYS_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    return [];
  }
  return keysOrProblems(reader, "IMAGEN_API_KEYS_FILE", apiKeyEntriesOfFile(text));
}

function keysOrProblems(reader: EnvReader, name: string, entries: Parameters<typeof parseApiKeys>[0]): ApiKey[] {
  const { keys, problems } = parseApiKeys(entries);
  for (const problem of problems) reader.problem(`${name}: ${problem}`);
  return keys;
}

function readOverloadConfig(reader: EnvReader): OverloadConfig {
  return {
    // A mean delay of a second means every request already waits that long.
    maxEventLoopDelayMs: reader.int("OVERLOAD_MAX_EVENT_LOOP_DELAY_MS", 1000, { min: 0 }),
    // Near V8's heap limit the process spends its time collecting garbage, then dies.
    maxHeapUsedBytes: reader.int(
      "OVERLOAD_MAX_HEAP_USED_BYTES",
      Math.floor(getHeapStatistics().heap_size_limit * 0.9),
      {
        min: 0,
      },
    ),
    // Off: the container's memory limit is the deployment's to know.
    maxRssBytes: reader.int("OVERLOAD_MAX_RSS_BYTES", 0, { min: 0 }),
    sampleIntervalMs: reader.int("OVERLOAD_SAMPLE_INTERVAL_MS", 1000, { min: 10, max: 60_000 }),
    retryAfterS: reader.int("OVERLOAD_RETRY_AFTER_S", 10, { min: 1, max: 3600 }),
  };
}

function readServerTimeouts(reader: EnvReader): ServerTimeouts {
  const timeouts = {
    // A half-sent request is closed within these (plus the 1 s the server takes to check).
    requestTimeoutMs: reader.int("REQUEST_TIMEOUT_MS", 30_000, { min: 1, max: 3_600_000 }),
    headersTimeoutMs: reader.int("HEADERS_TIMEOUT_MS", 10_000, { min: 1, max: 3_600_000 }),
    // Above the 60 s idle timeout of common load balancers, so they close idle connections first.
    keepAliveTimeoutMs: reader.int("KEEP_ALIVE_TIMEOUT_MS", 72_000, { min: 1, max: 3_600_000 }),
  };
  if (timeouts.headersTimeoutMs > timeouts.requestTimeoutMs) {
    reader.problem(
      `HEADERS_TIMEOUT_MS: expected at most REQUEST_TIMEOUT_MS (${timeouts.requestTimeoutMs}) but received ${timeouts.headersTimeoutMs}`,
    );
  }
  return timeouts;
}

function readCorsOrigins(reader: EnvReader): string[] {
  const raw = reader.optionalString("CORS_ORIGINS");
  if (raw === undefined) return [];
  const origins = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = origins.filter((origin) => URL.parse(origin)?.origin !== origin);
  if (origins.length === 0 || bad.length > 0) {
    reader.problem(
      `CORS_ORIGINS: expected comma-separated origins such as https://app.example.com but received ${JSON.stringify(bad[0] ?? raw)}`,
    );
    return [];
  }
  return [...new Set(origins)];
}
