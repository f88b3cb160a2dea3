import {
  EnvReader,
  readBackendConfig,
  readImageLimits,
  readLogLevel,
  readModelConfig,
  type BackendConfig,
  type ImageLimits,
  type ModelConfig,
} from "@imagen/core";

export interface ApiConfig {
  port: number;
  host: string;
  logLevel: ReturnType<typeof readLogLevel>;
  backend: BackendConfig;
  limits: ImageLimits;
  /** Used only to list models in `GET /v1/ops` and to check `options.model`; the API runs none. */
  models: ModelConfig;
  /** Runs a worker for every op inside the API process (`npm start`); off in production. */
  embeddedWorker: boolean;
  /** Lifetime of a signed result URL, where the blob store issues them. */
  resultUrlTtlS: number;
  /** On SIGTERM, how long in-flight requests may take before the server closes anyway. */
  shutdownTimeoutMs: number;
}

/** Parses the API's environment once, at start-up. Throws `ConfigError` naming each bad variable. */
export function loadApiConfig(env: Readonly<Record<string, string | undefined>>): Readonly<ApiConfig> {
  const reader = new EnvReader(env);
  const config: ApiConfig = {
    port: reader.int("PORT", 8080, { min: 0, max: 65535 }),
    host: reader.string("HOST", "0.0.0.0"),
    logLevel: readLogLevel(reader),
    backend: readBackendConfig(reader),
    limits: readImageLimits(reader),
    models: readModelConfig(reader),
    // Off by default so a production API never runs models by accident; `npm start` turns it on.
    embeddedWorker: reader.bool("IMAGEN_EMBEDDED_WORKER", false),
    resultUrlTtlS: reader.int("RESULT_URL_TTL_S", 900, { min: 1, max: 7 * 24 * 3600 }),
    shutdownTimeoutMs: reader.int("SHUTDOWN_TIMEOUT_MS", 10_000, { min: 0 }),
  };
  reader.done();
  return Object.freeze(config);
}
