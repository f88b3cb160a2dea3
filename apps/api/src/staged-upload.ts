import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { AppError, isJobId, NotFoundError, readAll, ValidationError, type BlobStore } from "@imagen/core";
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

/** Content types a two-phase upload may declare; the bytes are still sniffed when the job is made. */
export const UPLOAD_CONTENT_TYPES = [
  "image/jpeg",
  "image/png",
  "image/webp",
  "image/avif",
  "image/heif",
  "image/gif",
  "image/tiff",
] as const;

export function uploadKey(uploadId: string): string {
  return `uploads/${uploadId}`;
}

/** The record `POST /v1/uploads` writes beside the bytes: who may use the upload, until when, and the PUT token's hash. */
export function uploadRecordKey(uploadId: string): string {
  return `uploads/${uploadId}.json`;
}

interface UploadRecord {
  owner: string | null;
  expiresAt: string;
  /** sha256 of the token the API's own PUT route needs; null where the store signs its own upload URL. */
  tokenSha256: string | null;
}

/** `POST /v1/jobs` with a JSON body naming an upload made through `POST /v1/uploads`. */
export const JobFromUpload = Type.Object(
  {
    op: Type.String(),
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    input: Type.Object({ uploadId: Type.String() }, { additionalProperties: false }),
    webhook: Type.Optional(Type.String({ description: "URL to POST the job to when it ends" })),
  },
  { additionalProperties: false },
);
export type JobFromUpload = Static<typeof JobFromUpload>;

/** Checks the JSON body of a job made from a two-phase upload; the bytes are read later by `readStagedUpload`. */
export function parseJobFromUpload(body: unknown): JobFromUpload {
  if (!Value.Check(JobFromUpload, body)) {
    const first = Value.Errors(JobFromUpload, body).First();
    throw new ValidationError(
      `Expected {"op", "options"?, "webhook"?, "input": {"uploadId"}} but ${first ? `${first.path || "the body"}: ${first.message}` : "received something else"}`,
    );
  }
  return body;
}

/** A new upload's record; returns the token its PUT must carry when `withToken` (the API's own PUT route). */
export async function createUploadRecord(
  blobs: BlobStore,
  uploadId: string,
  record: { owner: string | null; expiresAt: Date; withToken: boolean },
): Promise<string | null> {
  const token = record.withToken ? randomBytes(32).toString("base64url") : null;
  const stored: UploadRecord = {
    owner: record.owner,
    expiresAt: record.expiresAt.toISOString(),
    tokenSha256: token === null ? null : sha256(token),
  };
  await blobs.put(uploadRecordKey(uploadId), Buffer.from(JSON.stringify(stored)), {
    contentType: "application/json",
  });
  return token;
}

function uploadNotFound(uploadId: string, hint = ""): NotFoundError {
  return new NotFoundError(`No upload with id ${JSON.stringify(uploadId)}${hint}`, { code: "UPLOAD_NOT_FOUND" });
}

async function readUploadRecord(blobs: BlobStore, uploadId: string, now: Date): Promise<UploadRecord | null> {
  if (!isJobId(uploadId)) return null;
  const stream = await blobs.get(uploadRecordKey(uploadId));
  if (!stream) return null;
  const record = JSON.parse((await readAll(stream)).toString("utf8")) as UploadRecord;
  return Date.parse(record.expiresAt) > now.getTime() ? record : null;
}

/**
 * Whether a PUT to the API's own upload route may write `uploadId`: its record exists, has not
 * expired and `token` is the one its creation returned (compared in constant time). Else 404, as for an unknown id.
 */
export async function assertUploadToken(
  blobs: BlobStore,
  uploadId: string,
  token: string | undefined,
  now: Date,
): Promise<void> {
  const record = await readUploadRecord(blobs, uploadId, now);
  const expected = record?.tokenSha256;
  if (!expected || token === undefined || !timingSafeEqual(Buffer.from(sha256(token)), Buffer.from(expected))) {
    throw uploadNotFound(uploadId, " for this token; create one with POST /v1/uploads");
  }
}

/**
 * Reads the image of a two-phase upload that `owner` created and has not expired. The same checks as a
 * multipart upload follow; the caller removes the staged blobs (`removeStagedUpload`) once the job holds its own copy.
 */
export async function readStagedUpload(
  blobs: BlobStore,
  uploadId: string,
  owner: string | null,
  limits: { maxUploadBytes: number; now: Date },
): Promise<Buffer> {
  const record = await readUploadRecord(blobs, uploadId, limits.now);
  if (!record || (owner !== null && record.owner !== owner)) throw uploadNotFound(uploadId);
  const key = uploadKey(uploadId);
  const info = await blobs.head(key);
  if (!info) throw uploadNotFound(uploadId, "; PUT its bytes first");
  if (info.sizeBytes > limits.maxUploadBytes) {
    await removeStagedUpload(blobs, uploadId);
    throw new AppError(
      "PAYLOAD_TOO_LARGE",
      `The upload is ${info.sizeBytes} bytes, over the limit of ${limits.maxUploadBytes}`,
    );
  }
  const stream = await blobs.get(key);
  if (!stream) throw uploadNotFound(uploadId, " (it disappeared)");
  return readAll(stream);
}

export async function removeStagedUpload(blobs: BlobStore, uploadId: string): Promise<void> {
  await blobs.delete(uploadKey(uploadId));
  await blobs.delete(uploadRecordKey(uploadId));
}

function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}
