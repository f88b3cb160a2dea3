import { ValidationError } from "./errors.js";

/** Where a page ended: the last job's sort key. Encoded as base64url JSON, opaque to clients. */
export interface JobCursor {
  createdAtMs: number;
  id: string;
}

export function encodeJobCursor(cursor: JobCursor): string {
  return Buffer.from(JSON.stringify({ t: cursor.createdAtMs, id: cursor.id })).toString("base64url");
}

/** Throws `ValidationError` (`INVALID_CURSOR`) for anything `encodeJobCursor` did not produce. */
export function decodeJobCursor(raw: string): JobCursor {
  const invalid = (cause?: unknown) =>
    new ValidationError(`Expected a cursor from a previous page but received ${JSON.stringify(raw)}`, {
      code: "INVALID_CURSOR",
      cause,
    });
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch (err) {
    throw invalid(err);
  }
  if (typeof value !== "object" || value === null) throw invalid();
  const { t, id } = value as Record<string, unknown>;
  if (typeof t !== "number" || !Number.isSafeInteger(t) || typeof id !== "string" || id.length === 0) {
    throw invalid();
  }
  return { createdAtMs: t, id };
}
