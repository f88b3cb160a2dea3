import { createHash, timingSafeEqual } from "node:crypto";
import { AppError } from "@imagen/core";
import type { FastifyInstance } from "fastify";

declare module "fastify" {
  interface FastifyRequest {
    /** The name of the API key the request authenticated with; `null` when the API runs without keys. */
    apiKey: string | null;
  }
  interface FastifyContextConfig {
    /**
     * `false` for a `/v1` route that authorizes its requests another way (a capability token in its
     * URL, as a signed storage URL does); every other `/v1` route needs an API key once keys are on.
     */
    apiKeyRequired?: boolean;
  }
}

/** A configured key: only the sha256 of its secret is kept. */
export interface ApiKey {
  name: string;
  sha256: Buffer;
}

/** One `name:secret` or `name:sha256:<hex>` entry, with where it came from for error messages. */
export interface ApiKeyEntry {
  text: string;
  /** "entry 2" of a comma-separated list, "line 7" of a file. */
  position: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// A Bearer token travels in a header: visible ASCII, no spaces.
const SECRET = /^[\x21-\x7e]+$/;
const HASHED = /^sha256:([0-9a-fA-F]{64})$/;
const BEARER = /^Bearer +(\S+) *$/i;

export function hashSecret(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/** The entries of `IMAGEN_API_KEYS`: comma-separated, numbered from 1. */
export function apiKeyEntriesOfList(raw: string): ApiKeyEntry[] {
  return raw.split(",").map((text, i) => ({ text: text.trim(), position: `entry ${i + 1}` }));
}

/** The entries of an `IMAGEN_API_KEYS_FILE`: one per line; blank lines and `#` comments skipped. */
export function apiKeyEntriesOfFile(text: string): ApiKeyEntry[] {
  return text
    .split(/\r?\n/)
    .map((line, i) => ({ text: line.trim(), position: `line ${i + 1}` }))
    .filter((entry) => entry.text !== "" && !entry.text.startsWith("#"));
}

/**
 * Parses key entries. A problem names the entry's position and never its text, since the text of a
 * malformed entry may be a secret. Names must be unique: they identify the owner of a job.
 */
export function parseApiKeys(entries: readonly ApiKeyEntry[]): { keys: ApiKey[]; problems: string[] } {
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  if (entries.length === 0) problems.push("no key entries; unset the variable to run without keys");
  for (const { text, position } of entries) {
    const colon = text.indexOf(":");
    const name = text.slice(0, colon);
    const secret = text.slice(colon + 1);
    if (colon < 0 || !NAME.test(name)) {
      problems.push(
        `${position}: expected name:secret or name:sha256:<64 hex digits>, the name of letters, digits, ".", "_" or "-"`,
      );
    } else if (secret.startsWith("sha256:") && !HASHED.test(secret)) {
      problems.push(`${position}: expected sha256: to be followed by 64 hex digits`);
    } else if (!SECRET.test(secret)) {
      problems.push(`${position}: expected a secret of visible ASCII characters without spaces`);
    } else if (seen.has(name)) {
      problems.push(`${position}: the key name ${JSON.stringify(name)} is also used by ${seen.get(name)}`);
    } else {
      seen.set(name, position);
      const hashed = HASHED.exec(secret);
      keys.push({ name, sha256: hashed?.[1] ? Buffer.from(hashed[1], "hex") : hashSecret(secret) });
    }
  }
  return { keys, problems };
}

/**
 * The key whose secret is `presented`, or null. Every key is compared, in constant time, whether or
 * not an earlier one matched, so the time taken does not tell which key (if any) matched.
 */
export function findApiKey(keys: readonly ApiKey[], presented: string): ApiKey | null {
  const digest = hashSecret(presented);
  let found: ApiKey | null = null;
  for (const key of keys) {
    if (timingSafeEqual(key.sha256, digest) && found === null) found = key;
  }
  return found;
}

function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

/**
 * Decorates every request with `apiKey` and, with keys configured, answers a protected route's
 * request without a valid `Authorization: Bearer <secret>` with 401 `UNAUTHENTICATED`.
 */
export function registerApiKeyAuth(
  app: FastifyInstance,
  options: { keys: readonly ApiKey[]; isProtected: (routeUrl: string | undefined) => boolean },
): void {
  app.decorateRequest("apiKey", null);
  const { keys, isProtected } = options;
  if (keys.length === 0) return;
  app.addHook("onRequest", async (request, reply) => {
    // The route pattern, not the raw URL: a path spelled another way cannot reach a route unchecked.
    if (request.routeOptions.config.apiKeyRequired === false || !isProtected(request.routeOptions.url)) return;
    const token = bearerToken(request.headers.authorization);
    const key = token === undefined ? null : findApiKey(keys, token);
    if (!key) {
      reply.header("www-authenticate", "Bearer");
      throw new AppError(
        "UNAUTHENTICATED",
        token === undefined
          ? "Expected an API key in the header Authorization: Bearer <key>"
          : "The API key is not valid",
      );
    }
    request.apiKey = key.name;
  });
}
