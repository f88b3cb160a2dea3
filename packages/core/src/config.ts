import { resolve } from "node:path";
import type { EnvReader } from "./env-reader.js";
import { ConfigError } from "./errors.js";
import { LOG_LEVELS } from "./logger.js";

/** Settings both apps read the same way; each app's `loadConfig` composes them with its own. */

export interface QueueConfig {
  /** How long a delivery is held before another consumer may take it; renewed while the job runs. */
  leaseMs: number;
  pollIntervalMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** The queue settings every backend honours; each backend package reads its own settings. */
export function readQueueConfig(env: EnvReader): QueueConfig {
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

export interface ImageLimits {
  maxUploadBytes: number;
  maxInputPixels: number;
  maxOutputPixels: number;
  /** AVIF and HEIF, which libheif decodes whole at about 25 bytes a pixel: a lower pixel limit. */
  maxHeifPixels: number;
  /** Seconds one decode may take before it is stopped. */
  decodeTimeoutS: number;
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
    maxHeifPixels: env.int("MAX_HEIF_INPUT_PIXELS", 24_000_000, { min: 1 }),
    decodeTimeoutS: env.int("DECODE_TIMEOUT_S", 30, { min: 1, max: 3600 }),
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

/** What the API and the worker both read besides the backend (`@imagen/backends` reads that): log level, image limits and models. */
export interface ServiceConfig {
  logLevel: ReturnType<typeof readLogLevel>;
  limits: ImageLimits;
  models: ModelConfig;
}

export function readServiceConfig(env: EnvReader): ServiceConfig {
  return {
    logLevel: readLogLevel(env),
    limits: readImageLimits(env),
    models: readModelConfig(env),
  };
}
