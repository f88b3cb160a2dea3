import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Storage } from "@google-cloud/storage";
import type { Bucket, File } from "@google-cloud/storage";
import { assertSafeKey, ValidationError } from "@imagen/core";
import type { BlobInfo, BlobStore } from "@imagen/core";
import { hasCode } from "./grpc-errors.js";

/** A service-account key's two fields that signing needs (the rest of the JSON key file is unused). */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
}

export interface GcsBlobStoreOptions {
  bucket: string;
  projectId: string;
  /** Another endpoint than Cloud Storage's, e.g. `http://127.0.0.1:4443` for fake-gcs-server. */
  apiEndpoint?: string | undefined;
  /** Bodies of this many bytes or more go up as resumable uploads; smaller ones in one request. */
  resumableThresholdBytes?: number | undefined;
  /**
   * Signs URLs and authenticates requests. Unset: Application Default Credentials, and under
   * Workload Identity the client signs through the IAM Credentials `signBlob` API, which needs
   * `roles/iam.serviceAccountTokenCreator` for the service account on itself.
   */
  credentials?: ServiceAccountKey | undefined;
  /** Creates the bucket on first use when missing (emulators and development only). */
  createBucket?: boolean | undefined;
}

/** Cloud Storage's own advice: below about 8 MiB one request is cheaper than a resumable session. */
const DEFAULT_RESUMABLE_THRESHOLD_BYTES = 8 * 1024 * 1024;
const DEFAULT_CONTENT_TYPE = "application/octet-stream";
/** V4 signed URLs live at most seven days. */
const MAX_SIGNED_URL_S = 7 * 24 * 60 * 60;

/**
 * A `BlobStore` on one Cloud Storage bucket; a key is the object name. A Buffer or a stream that ends
 * below `resumableThresholdBytes` is sent in a single request; a longer stream starts a resumable
 * upload with what was read so far and streams the rest. Either way the object appears only when the
 * upload completes, so a failed write leaves the previous object (or none). `get` first reads the
 * metadata (to answer `null` for a missing object) and then streams the media. `url` returns a V4
 * signed GET URL; `uploadUrl` a V4 signed PUT URL bound to the content type and, through
 * `x-goog-content-length-range`, to at most `maxBytes`.
 */
export function createGcsBlobStore(options: GcsBlobStoreOptions): BlobStore {
  const storage = new Storage({
    projectId: options.projectId,
    ...(options.apiEndpoint === undefined ? {} : { apiEndpoint: options.apiEndpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  const bucket = storage.bucket(options.bucket);
  const threshold = options.resumableThresholdBytes ?? DEFAULT_RESUMABLE_THRESHOLD_BYTES;
  let bucketReady: Promise<void> | undefined;
  const ready = async () => {
    if (!options.createBucket) return;
    bucketReady ??= ensureBucket(bucket).catch((err: unknown) => {
      bucketReady = undefined;
      throw err;
    });
    await bucketReady;
  };
  const file = async (key: string) => {
    assertSafeKey(key);
    await ready();
    return bucket.file(key);
  };

  return {
    async put(key, body, putOptions) {
      const target = await file(key);
      const sizeBytes = await upload(target, body, putOptions.contentType, threshold);
      return { key, sizeBytes, contentType: putOptions.contentType };
    },
    async get(key) {
      const target = await file(key);
      if ((await metadataOf(target)) === null) return null;
      return target.createReadStream();
    },
    async head(key) {
      const metadata = await metadataOf(await file(key));
      if (metadata === null) return null;
      return {
        key,
        sizeBytes: Number(metadata.size ?? 0),
        contentType: metadata.contentType ?? DEFAULT_CONTENT_TYPE,
      } satisfies BlobInfo;
    },
    async delete(key) {
      await (await file(key)).delete({ ignoreNotFound: true });
    },
    async url(key, urlOptions) {
      const target = await file(key);
      const [url] = await target.getSignedUrl({
        version: "v4",
        action: "read",
        expires: expiry(urlOptions.expiresInS),
      });
      return url;
    },
    async uploadUrl(key, uploadOptions) {
      const target = await file(key);
      const { contentType, maxBytes } = uploadOptions;
      if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
        throw new ValidationError(`Expected a non-negative integer maxBytes but received ${maxBytes}`);
      }
      // Cloud Storage rejects a PUT whose length falls outside this range, and the signature covers it.
      const headers = { "content-type": contentType, "x-goog-content-length-range": `0,${maxBytes}` };
      const [url] = await target.getSignedUrl({
        version: "v4",
        action: "write",
        contentType,
        extensionHeaders: { "x-goog-content-length-range": headers["x-goog-content-length-range"] },
        expires: expiry(uploadOptions.expiresInS),
      });
      return { url, headers };
    },
    async ping() {
      await ready();
      // objects.list needs only object read access, and fails (404) when the bucket is missing.
      await bucket.getFiles({ maxResults: 1, autoPaginate: false });
    },
    async close() {},
  };
}

function expiry(expiresInS: number): number {
  if (!Number.isInteger(expiresInS) || expiresInS < 1 || expiresInS > MAX_SIGNED_URL_S) {
    throw new ValidationError(`Expected expiresInS from 1 to ${MAX_SIGNED_URL_S} but received ${expiresInS}`);
  }
  return Date.now() + expiresInS * 1000;
}

async function ensureBucket(bucket: Bucket): Promise<void> {
  const [exists] = await bucket.exists();
  if (exists) return;
  try {
    await bucket.create();
  } catch (err) {
    // Another process created it first.
    if (!hasCode(err, 409)) throw err;
  }
}

async function metadataOf(file: File): Promise<{ size?: string | number; contentType?: string } | null> {
  try {
    const [metadata] = await file.getMetadata();
    return metadata;
  } catch (err) {
    if (hasCode(err, 404)) return null;
    throw err;
  }
}

/** Uploads `body` and returns its size in bytes. */
async function upload(file: File, body: Buffer | Readable, contentType: string, threshold: number): Promise<number> {
  const start = Buffer.isBuffer(body) ? { head: body, rest: null } : await readUpTo(body, threshold);
  if (start.rest === null) {
    await file.save(start.head, { resumable: start.head.length >= threshold, contentType });
    return start.head.length;
  }
  let sizeBytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sizeBytes += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(start.rest, count, file.createWriteStream({ resumable: true, contentType }));
  return sizeBytes;
}

interface StreamStart {
  /** The bytes read; the whole body when `rest` is `null`. */
  head: Buffer;
  /** The whole body again (head first), when it did not end within the threshold. */
  rest: Readable | null;
}

/** Reads `body` until it ends or `limit` bytes arrived, without losing what follows. */
async function readUpTo(body: Readable, limit: number): Promise<StreamStart> {
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < limit) {
    const next = await iterator.next();
    if (next.done === true) return { head: Buffer.concat(chunks), rest: null };
    const chunk = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
    chunks.push(chunk);
    length += chunk.length;
  }
  async function* resume(): AsyncGenerator<Buffer> {
    yield* chunks;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      yield typeof next.value === "string" ? Buffer.from(next.value) : next.value;
    }
  }
  return { head: Buffer.concat(chunks), rest: Readable.from(resume(), { objectMode: false }) };
}
