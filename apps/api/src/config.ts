import { readBackendConfig, type BackendConfig } from "@imagen/backends";
import { EnvReader, readServiceConfig, type ServiceConfig } from "@imagen/core";
import { readModelSource, type ModelSourceSpec } from "@imagen/imaging/catalogue";

/**
 * `models` lists the catalogue in `GET /v1/ops` and checks `options.model`; the API runs no model
 * itself, only starts the embedded worker of `npm start`, which also tells it what can run.
 */
export interface ApiConfig extends ServiceConfig {
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
  const config: ApiConfig = {
    port: reader.int("PORT", 8080, { min: 0, max: 65535 }),
    host: reader.string("HOST", "0.0.0.0"),
    ...readServiceConfig(reader),
    backend: readBackendConfig(reader),
    // Off by default so a production API never runs models by accident; `npm start` turns it on.
    embeddedWorker: reader.bool("IMAGEN_EMBEDDED_WORKER", false),
    modelSource: readModelSource(reader),
    resultUrlTtlS: reader.int("RESULT_URL_TTL_S", 900, { min: 1, max: 7 * 24 * 3600 }),
    uploadUrlTtlS: reader.int("UPLOAD_URL_TTL_S", 900, { min: 1, max: 7 * 24 * 3600 }),
    shutdownTimeoutMs: reader.int("SHUTDOWN_TIMEOUT_MS", 10_000, { min: 0 }),
  };
  reader.done();
  return Object.freeze(config);
}
