// The config reader alone: the Google Cloud SDKs load only when the gcp backend is created.
import { readGcpConfig, type GcpConfig } from "@imagen/backend-gcp/config";
import { readLocalConfig, type LocalConfig } from "@imagen/backend-local";
import { readQueueConfig, type EnvReader, type QueueConfig } from "@imagen/core";

export const BACKENDS = ["local", "gcp"] as const;
export type BackendKind = (typeof BACKENDS)[number];

export type BackendConfig =
  ({ kind: "local"; queue: QueueConfig } & LocalConfig) | { kind: "gcp"; gcp: GcpConfig; queue: QueueConfig };

/** `IMAGEN_BACKEND` and the chosen backend's own settings, read by that backend's package. */
export function readBackendConfig(env: EnvReader, cwd = process.cwd()): BackendConfig {
  const kind = env.oneOf("IMAGEN_BACKEND", BACKENDS, "local");
  const queue = readQueueConfig(env);
  switch (kind) {
    case "local":
      return { kind, queue, ...readLocalConfig(env, cwd) };
    case "gcp":
      return { kind, queue, gcp: readGcpConfig(env, queue) };
  }
}
