import { resolve } from "node:path";
import type { EnvReader } from "./env-reader.js";
import { ConfigError } from "./errors.js";
import { LOG_LEVELS } from "./logger.js";

/** Settings both apps read the same way; each app's `loadConfig` composes them with its own. */

export const BACKENDS = ["local", "gcp"] as const;
export type BackendKind = (typeof BACKENDS)[number];

export interface QueueConfig {
  /** How long a delivery is held before another consumer may take it; renewed while the job runs. */
  leaseMs: number;
  pollIntervalMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface GcpConfig {
  projectId: string;
  bucket: string;
  /** Topics are `<prefix>-<op>`, subscriptions `<prefix>-<op>-worker`, dead letters `<prefix>-<op>-dead-letter`. */
  topicPrefix: string;
  firestoreDatabaseId: string;
  firestoreCollection: string;
  /** Jobs carry `expireAt` = creation + this many days, for a Firestore TTL policy. */
  jobTtlDays: number;
  /** Create topics, subscriptions and the bucket at start-up (emulators, development); Terraform does it in production. */
  createResources: boolean;
  /** The longest a job may run: its message lease is extended until then. */
  maxJobMs: number;
  /**
   * A service-account JSON key that signs result and upload URLs; unset, the client signs through
   * the IAM signBlob API (Workload Identity).
   */
  signingKeyFile: string | undefined;
  /** Emulator endpoints for tests and development; unset means the real service. */
  emulators: { pubsub: string | undefined; firestore: string | undefined; storage: string | undefined };
}

export type BackendConfig =
  { kind: "local"; dataDir: string; queue: QueueConfig } | { kind: "gcp"; gcp: GcpConfig; queue: QueueConfig };

export function readBackendConfig(env: EnvReader, cwd = process.cwd()): BackendConfig {
  const kind = env.oneOf("IMAGEN_BACKEND", BACKENDS, "local");
  const queue = readQueueConfig(env);
  if (kind === "local") return { kind, queue, dataDir: resolve(cwd, env.string("IMAGEN_DATA_DIR", ".imagen")) };
  checkPubSubLimits(env, queue);
  return { kind, queue, gcp: readGcpConfig(env) };
}

function readQueueConfig(env: EnvReader): QueueConfig {
  return {
    // A minute covers any single tile; the lease is renewed while a job runs, so long jobs are fine.
    leaseMs: env.int("QUEUE_LEASE_MS", 60_000, { min: 100 }),
    pollIntervalMs: env.int("QUEUE_POLL_INTERVAL_MS", 250, { min: 10 }),
    maxAttempts: env.int("QUEUE_MAX_ATTEMPTS", 5, { min: 1, max: 100 }),
    // Ten seconds is Pub/Sub's smallest retry backoff, so both backends behave alike by default.
    backoffBaseMs: env.int("QUEUE_BACKOFF_BASE_MS", 10_000, { min: 0 }),
    backoffMaxMs: env.int("QUEUE_BACKOFF_MAX_MS", 600_000, { min: 0 }),
  };
}

function readGcpConfig(env: EnvReader): GcpConfig {
  const required = (name: string): string => {
    const value = env.optionalString(name);
    if (value === undefined) env.problem(`${name}: required when IMAGEN_BACKEND=gcp`);
    return value ?? "";
  };
  return {
    projectId: required("GCP_PROJECT_ID"),
    bucket: required("GCS_BUCKET"),
    topicPrefix: env.string("PUBSUB_TOPIC_PREFIX", "imagen"),
    firestoreDatabaseId: env.string("FIRESTORE_DATABASE_ID", "(default)"),
    firestoreCollection: env.string("FIRESTORE_COLLECTION", "jobs"),
    jobTtlDays: env.int("JOB_TTL_DAYS", 7, { min: 1, max: 3650 }),
    // Off by default: in production the resources exist (Terraform) and the service account may not create them.
    createResources: env.bool("IMAGEN_GCP_CREATE_RESOURCES", false),
    maxJobMs: env.int("JOB_MAX_MS", 3_600_000, { min: 1_000 }),
    signingKeyFile: env.optionalString("GCS_SIGNING_KEY_FILE"),
    emulators: {
      // The names the Google Cloud client libraries themselves read.
      pubsub: env.optionalString("PUBSUB_EMULATOR_HOST"),
      firestore: env.optionalString("FIRESTORE_EMULATOR_HOST"),
      storage: env.optionalString("GCS_API_ENDPOINT"),
    },
  };
}

/** Pub/Sub's own bounds on the queue settings, named by variable. */
function checkPubSubLimits(env: EnvReader, queue: QueueConfig): void {
  const checks: [boolean, string][] = [
    [queue.leaseMs >= 10_000 && queue.leaseMs <= 600_000, "QUEUE_LEASE_MS: Pub/Sub ack deadlines are 10000..600000 ms"],
    [
      queue.backoffBaseMs <= 600_000 && queue.backoffMaxMs <= 600_000,
      "QUEUE_BACKOFF_*_MS: Pub/Sub backoff is at most 600000 ms",
    ],
  ];
  for (const [ok, message] of checks) if (!ok) env.problem(`${message} (IMAGEN_BACKEND=gcp)`);
}

export interface ImageLimits {
  maxUploadBytes: number;
  maxInputPixels: number;
  maxOutputPixels: number;
}

export interface ModelConfig {
  modelDir: string;
  /** The model catalogue; `undefined` means the one shipped in the repo (models/manifest.json). */
  manifestPath: string | undefined;
  executionProvider: "cpu" | "cuda";
  cudaDeviceId: number;
}

export function readImageLimits(env: EnvReader): ImageLimits {
  return {
    maxUploadBytes: env.int("MAX_UPLOAD_BYTES", 25 * 1024 * 1024, { min: 1 }),
    maxInputPixels: env.int("MAX_INPUT_PIXELS", 40_000_000, { min: 1 }),
    // 8192² keeps a decoded RGBA result under 300 MB.
    maxOutputPixels: env.int("MAX_OUTPUT_PIXELS", 8192 * 8192, { min: 1 }),
  };
}

export function readModelConfig(env: EnvReader, cwd = process.cwd()): ModelConfig {
  return {
    modelDir: resolve(cwd, env.string("IMAGEN_MODEL_DIR", "models")),
    manifestPath: optionalPath(env.optionalString("IMAGEN_MODEL_MANIFEST"), cwd),
    executionProvider: env.oneOf("IMAGEN_EXECUTION_PROVIDER", ["cpu", "cuda"] as const, "cpu"),
    cudaDeviceId: env.int("IMAGEN_CUDA_DEVICE_ID", 0, { min: 0 }),
  };
}

export function readLogLevel(env: EnvReader): (typeof LOG_LEVELS)[number] {
  return env.oneOf("LOG_LEVEL", LOG_LEVELS, "info");
}

/**
 * Runs a config loader and, on a `ConfigError`, prints its message (which names each bad variable)
 * and exits with status 1 instead of a stack trace. For use in `main.ts` only.
 */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

function optionalPath(value: string | undefined, cwd: string): string | undefined {
  return value === undefined ? undefined : resolve(cwd, value);
}

/** What the API and the worker both read: log level, backend, image limits and models. */
export interface ServiceConfig {
  logLevel: ReturnType<typeof readLogLevel>;
  backend: BackendConfig;
  limits: ImageLimits;
  models: ModelConfig;
}

export function readServiceConfig(env: EnvReader): ServiceConfig {
  return {
    logLevel: readLogLevel(env),
    backend: readBackendConfig(env),
    limits: readImageLimits(env),
    models: readModelConfig(env),
  };
}
