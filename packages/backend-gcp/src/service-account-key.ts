import { ConfigError } from "@imagen/core";
import type { ServiceAccountKey } from "./gcs-blob-store.js";

/**
 * The signing fields of a service-account JSON key file's text. Throws `ConfigError` naming `source`
 * (the variable or path it came from) when the text is not such a key.
 */
export function parseServiceAccountKey(text: string, source: string): ServiceAccountKey {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`${source}: expected a service-account JSON key but the text is not JSON`);
  }
  const { client_email: clientEmail, private_key: privateKey } = (value ?? {}) as Record<string, unknown>;
  if (typeof clientEmail !== "string" || typeof privateKey !== "string" || !privateKey.includes("PRIVATE KEY")) {
    throw new ConfigError(`${source}: expected a service-account JSON key with client_email and private_key`);
  }
  return { client_email: clientEmail, private_key: privateKey };
}
