import { randomUUID } from "node:crypto";
import { createLogger, type Logger } from "@imagen/core";
import { inject } from "vitest";
import type { GcpEmulatorEndpoints } from "./emulators.js";

export function emulators(): GcpEmulatorEndpoints {
  return inject("gcpEmulators");
}

/** A unique resource name, so tests never see one another's topics, collections or keys. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/** A real logger that writes nothing; spy on its methods to see what an adapter logged. */
export function quietLogger(): Logger {
  return createLogger({ service: "backend-gcp-test", level: "silent" });
}
