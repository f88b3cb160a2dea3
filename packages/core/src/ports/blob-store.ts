import type { Readable } from "node:stream";
import { ValidationError } from "../errors.js";

export interface SignedUpload {
  url: string;
  /** Headers the client must send with its PUT (the signature covers them). */
  headers: Record<string, string>;
}

export interface BlobInfo {
  key: string;
  sizeBytes: number;
  contentType: string;
}

/**
 * Where input and output images live. Keys are relative, slash-separated strings checked by
 * `assertSafeKey`. Writes are atomic: a reader sees the whole blob or none.
 */
export interface BlobStore {
  /** Writes (or overwrites) `key`. A failed write leaves no partial blob. */
  put(key: string, body: Buffer | Readable, options: { contentType: string }): Promise<BlobInfo>;

  /** The blob's bytes as a stream, or `null` when it does not exist. */
  get(key: string): Promise<Readable | null>;

  /** Size and content type, or `null` when the blob does not exist. */
  head(key: string): Promise<BlobInfo | null>;

  /** Removes `key`; a missing key is not an error. */
  delete(key: string): Promise<void>;

  /**
   * A time-limited URL a client can GET the blob from, or `null` when this store has none (the API
   * then streams the bytes itself).
   */
  url(key: string, options: { expiresInS: number }): Promise<string | null>;

  /**
   * A time-limited URL a client can PUT the blob's bytes to, bound to `contentType` and at most
   * `maxBytes`, with the headers the PUT must carry; or `null` when this store has none (the API
   * then accepts the PUT itself).
   */
  uploadUrl(
    key: string,
    options: { contentType: string; maxBytes: number; expiresInS: number },
  ): Promise<SignedUpload | null>;

  ping(): Promise<void>;

  close(): Promise<void>;
}

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/** Rejects keys that could escape the store's root: absolute paths, `..`, empty segments. */
export function assertSafeKey(key: string): void {
  if (key.length === 0 || key.length > 512 || !SAFE_KEY.test(key) || key.split("/").includes("..")) {
    throw new ValidationError(`Expected a relative blob key of safe characters but received ${JSON.stringify(key)}`);
  }
}
