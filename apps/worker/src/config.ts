import { EnvReader, OP_NAMES, readServiceConfig, type OpName, type ServiceConfig } from "@imagen/core";
import { parseModelSource, type ModelSourceSpec } from "@imagen/imaging";

export interface WorkerConfig extends ServiceConfig {
  /** Ops this process consumes; one Deployment per op in production. */
  ops: OpName[];
  /** Jobs run at once per op; bound it by GPU memory in production. */
  concurrency: number;
  /** On SIGTERM, how long in-flight jobs may run before they are handed back to the queue. */
  drainTimeoutMs: number;
  /** Minimum time between progress writes to the job store. */
  progressIntervalMs: number;
  /** Port of the health and metrics server (standalone worker only). */
  port: number;
  host: string;
  /** Where missing model files are downloaded from (`https://…` or `gs://bucket/prefix`); unset: nowhere. */
  modelSource: ModelSourceSpec | undefined;
}

/** Parses the worker's environment once, at start-up. Throws `ConfigError` naming each bad variable. */
export function loadWorkerConfig(env: Readonly<Record<string, string | undefined>>): Readonly<WorkerConfig> {
  const reader = new EnvReader(env);
  const config: WorkerConfig = {
    ...readServiceConfig(reader),
    ops: reader.listOf("IMAGEN_WORKER_OPS", OP_NAMES, OP_NAMES),
    concurrency: reader.int("WORKER_CONCURRENCY", 1, { min: 1, max: 64 }),
    drainTimeoutMs: reader.int("WORKER_DRAIN_TIMEOUT_MS", 30_000, { min: 0 }),
    progressIntervalMs: reader.int("WORKER_PROGRESS_INTERVAL_MS", 500, { min: 0 }),
    port: reader.int("WORKER_PORT", 8081, { min: 0, max: 65535 }),
    host: reader.string("WORKER_HOST", "0.0.0.0"),
    modelSource: readModelSource(reader),
  };
  reader.done();
  return Object.freeze(config);
}

// Unset by default, so nothing is downloaded unless a source is named.
function readModelSource(reader: EnvReader): ModelSourceSpec | undefined {
  try {
    return parseModelSource(reader.optionalString("IMAGEN_MODEL_SOURCE"));
  } catch (err) {
    reader.problem(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}
