import { readFile } from "node:fs/promises";
import { createGcpBackend, parseServiceAccountKey, type GcpConfig } from "@imagen/backend-gcp";
import { createLocalBackend } from "@imagen/backend-local";
import type { Backend, Logger, QueueConfig } from "@imagen/core";
import type { BackendConfig } from "./backend-config.js";

/** The one place that picks the backend adapters from config. */
export async function createBackend(config: BackendConfig, log: Logger): Promise<Backend> {
  switch (config.kind) {
    case "local":
      return createLocalBackend({ dataDir: config.dataDir, queue: config.queue, log });
    case "gcp":
      return createGcp(config.gcp, config.queue, log);
  }
}

async function createGcp(gcp: GcpConfig, queue: QueueConfig, log: Logger): Promise<Backend> {
  const credentials =
    gcp.signingKeyFile === undefined
      ? undefined
      : parseServiceAccountKey(
          await readFile(gcp.signingKeyFile, "utf8"),
          `GCS_SIGNING_KEY_FILE (${gcp.signingKeyFile})`,
        );
  return createGcpBackend({ ...gcp, queue, credentials, log });
}
