import { createHash } from "node:crypto";
import { AppError, ValidationError, type Job, type JobIdempotency } from "@imagen/core";

/** How long an `Idempotency-Key` holds its job. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The `Idempotency-Key` header, or undefined without one; 1–255 visible ASCII characters. */
export function readIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(",") : header;
  if (!KEY_PATTERN.test(value)) {
    throw new ValidationError("Expected Idempotency-Key to be 1 to 255 visible ASCII characters", {
      details: { header: "idempotency-key" },
    });
  }
  return value;
}

/** What makes two submissions "the same request": op, options, webhook and the input's bytes or upload. */
export interface RequestIdentity {
  op: string;
  options: unknown;
  webhook: string | undefined;
  input: { file: Buffer } | { uploadId: string };
}

export function requestFingerprint(request: RequestIdentity): string {
  const input =
    "file" in request.input
      ? { sha256: createHash("sha256").update(request.input.file).digest("hex") }
      : { uploadId: request.input.uploadId };
  return createHash("sha256")
    .update(JSON.stringify([request.op, canonical(request.options), request.webhook ?? null, input]))
    .digest("hex");
}

/** JSON with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same options. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

export function idempotencyClaim(key: string, fingerprint: string, now: Date): JobIdempotency {
  return { key, fingerprint, expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS).toISOString() };
}

/** The earlier job a repeated key names: returned when the request is the same, else 409. */
export function replayOf(existing: Job, fingerprint: string): Job {
  if (existing.idempotency?.fingerprint === fingerprint) return existing;
  throw new AppError(
    "IDEMPOTENCY_CONFLICT",
    `This Idempotency-Key was used for a different request (job ${existing.id}); use a new key for a new request`,
    { details: { jobId: existing.id } },
  );
}
