import { readBackendConfig, type BackendConfig } from "@imagen/backends";
import { availableParallelism } from "node:os";
import { EnvReader, OP_NAMES, readServiceConfig, type OpName, type ServiceConfig } from "@imagen/core";
import { DEFAULT_MAX_TILE_MS, readModelSource, type ModelSourceSpec, type ThreadBudget } from "@imagen/imaging";
import { parseWebhookSecret, type WebhookSecret } from "@imagen/webhooks";

export interface WorkerConfig extends ServiceConfig {
  backend: BackendConfig;
  /** Ops this process consumes; one Deployment per op in production. */
  ops: OpName[];
  /** Jobs taken from the queue at once per op; bound it by GPU memory in production. */
  concurrency: number;
  /** Pipelines that run at once (pool threads) and ONNX Runtime threads for each. */
  threads: ThreadBudget;
  /** WORKER_THREAD_IDLE_MS: a pipeline thread idle this long exits, freeing its sessions; 0 never. */
  threadIdleMs: number;
  /** WORKER_MAX_TILE_MS: tiles are cut so that one model run, and so a cancel's wait, stays under this; 0 off. */
  maxTileMs: number;
  /** On SIGTERM, how long in-flight jobs may run before they are handed back to the queue. */
  drainTimeoutMs: number;
  /** Minimum time between progress writes to the job store. */
  progressIntervalMs: number;
  /** Port of the health and metrics server (standalone worker only). */
  port: number;
  host: string;
  /** Where missing model files are downloaded from (`https://…` or `gs://bucket/prefix`); unset: nowhere. */
  modelSource: ModelSourceSpec | undefined;
  webhooks: WebhookConfig;
}

export interface WebhookConfig {
  /** Signs deliveries (IMAGEN_WEBHOOK_SECRET). Unset: this worker sends none; they stay pending. */
  secret: WebhookSecret | undefined;
  /** Whether receivers on private, loopback and other internal addresses are reached. */
  allowPrivate: boolean;
  timeoutMs: number;
  maxResponseBytes: number;
  pollIntervalMs: number;
}

/** Parses the worker's environment once, at start-up. Throws `ConfigError` naming each bad variable. */
export function loadWorkerConfig(env: Readonly<Record<string, string | undefined>>): Readonly<WorkerConfig> {
  const reader = new EnvReader(env);
  const concurrency = reader.int("WORKER_CONCURRENCY", 1, { min: 1, max: 64 });
  const config: WorkerConfig = {
    ...readServiceConfig(reader),
    backend: readBackendConfig(reader),
    ops: reader.listOf("IMAGEN_WORKER_OPS", OP_NAMES, OP_NAMES),
    concurrency,
    threads: readThreadBudget(reader, concurrency),
    // An idle worker gives its threads' models back to the system (0: keeps them loaded).
    threadIdleMs: reader.int("WORKER_THREAD_IDLE_MS", 30_000, { min: 0 }),
    // A canceled job stops within one tile (ONNX Runtime cannot stop inside one): on a CPU a ×4
    // upscaler's tiles take 2–3 s, cut to fit this a cancel waits at most 2 s. Smaller tiles cost
    // time (npm run bench, item 6), so the budget is no tighter than that.
    maxTileMs: reader.int("WORKER_MAX_TILE_MS", DEFAULT_MAX_TILE_MS, { min: 0 }),
    drainTimeoutMs: reader.int("WORKER_DRAIN_TIMEOUT_MS", 30_000, { min: 0 }),
    progressIntervalMs: reader.int("WORKER_PROGRESS_INTERVAL_MS", 500, { min: 0 }),
    port: reader.int("WORKER_PORT", 8081, { min: 0, max: 65535 }),
    host: reader.string("WORKER_HOST", "0.0.0.0"),
    modelSource: readModelSource(reader),
    webhooks: readWebhookConfig(reader),
  };
  reader.done();
  return Object.freeze(config);
}

/**
 * Threads per session × sessions at once ≤ the cores the process may use, so that running jobs
 * side by side adds throughput instead of oversubscribing the cores.
 */
function readThreadBudget(reader: EnvReader, concurrency: number): ThreadBudget {
  const cores = reader.int("WORKER_CPU_THREADS", availableParallelism(), { min: 1, max: 1024 });
  const threads = reader.int("WORKER_POOL_SIZE", Math.min(concurrency, cores), { min: 1, max: 64 });
  const intraOpThreads = reader.int("WORKER_INTRA_OP_THREADS", Math.max(1, Math.floor(cores / threads)), {
    min: 1,
    max: 1024,
  });
  if (threads * intraOpThreads > cores) {
    reader.problem(
      `WORKER_POOL_SIZE × WORKER_INTRA_OP_THREADS: expected at most WORKER_CPU_THREADS (${cores}) but received ` +
        `${threads} × ${intraOpThreads} = ${threads * intraOpThreads}`,
    );
  }
  return { threads, intraOpThreads };
}

function readWebhookConfig(reader: EnvReader): WebhookConfig {
  const raw = reader.optionalString("IMAGEN_WEBHOOK_SECRET");
  let secret: WebhookSecret | undefined;
  try {
    secret = raw === undefined ? undefined : parseWebhookSecret(raw);
  } catch (err) {
    reader.problem(`IMAGEN_WEBHOOK_SECRET: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    secret,
    // Off: a webhook reaches only public addresses, so a job cannot make the worker probe its network.
    allowPrivate: reader.bool("IMAGEN_WEBHOOK_ALLOW_PRIVATE", false),
    // Ten seconds covers a receiver that answers at once, as Standard Webhooks asks receivers to.
    timeoutMs: reader.int("WEBHOOK_TIMEOUT_MS", 10_000, { min: 100, max: 120_000 }),
    // Only the status matters; the cap stops a receiver from streaming into the worker.
    maxResponseBytes: reader.int("WEBHOOK_MAX_RESPONSE_BYTES", 64 * 1024, { min: 1, max: 16 * 1024 * 1024 }),
    // A finished job's webhook is sent at once by its worker; polling picks up retries and cancels.
    pollIntervalMs: reader.int("WEBHOOK_POLL_INTERVAL_MS", 5_000, { min: 10 }),
  };
}
