import { readFile } from "node:fs/promises";
import type { GcpConfig } from "@imagen/backend-gcp/config";
import { createLocalBackend, RETENTION_SWEEP_INTERVAL_MS } from "@imagen/backend-local";
import type { Backend, Logger, QueueConfig } from "@imagen/core";
import type { BackendConfig } from "./backend-config.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The one place that picks the backend adapters from config. `maintenance`: this process also runs
 * the backend's own upkeep (the local backend's retention sweep; the cloud has lifecycle rules and a
 * TTL policy instead); one process of a deployment asks for it, the worker. The Google Cloud SDKs
 * are imported only for the gcp backend: on the local one they would cost each process about half a
 * second of start-up and 50 MB.
 */
export async function createBackend(
  config: BackendConfig,
  log: Logger,
  options: { maintenance?: boolean } = {},
): Promise<Backend> {
  switch (config.kind) {
    case "local":
      return createLocalBackend({
        dataDir: config.dataDir,
        queue: config.queue,
        log,
        retention: options.maintenance
          ? { jobTtlMs: config.jobTtlDays * DAY_MS, intervalMs: RETENTION_SWEEP_INTERVAL_MS }
          : undefined,
      });
    case "gcp":
      return createGcp(config.gcp, config.queue, log);
  }
}

async function createGcp(gcp: GcpConfig, queue: QueueConfig, log: Logger): Promise<Backend> {
  const { createGcpBackend, parseServiceAccountKey } = await import("@imagen/backend-gcp");
  const credentials =
    gcp.signingKeyFile === undefined
      ? undefined
      : parseServiceAccountKey(
          await readFile(gcp.signingKeyFile, "utf8"),
          `GCS_SIGNING_KEY_FILE (${gcp.signingKeyFile})`,
        );
  return createGcpBackend({ ...gcp, queue, credentials, log });
}
