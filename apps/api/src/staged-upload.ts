import { AppError, isJobId, NotFoundError, readAll, ValidationError, type BlobStore } from "@imagen/core";
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { Upload } from "./read-upload.js";

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

/** `POST /v1/jobs` with a JSON body naming an upload made through `POST /v1/uploads`. */
export const JobFromUpload = Type.Object(
  {
    op: Type.String(),
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    input: Type.Object({ uploadId: Type.String() }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
export type JobFromUpload = Static<typeof JobFromUpload>;

/**
 * Reads the image of a two-phase upload. The same checks as a multipart upload follow; the staged
 * blob is removed by the caller once the job holds its own copy.
 */
export async function readStagedUpload(body: unknown, blobs: BlobStore, maxUploadBytes: number): Promise<Upload> {
  if (!Value.Check(JobFromUpload, body)) {
    const first = Value.Errors(JobFromUpload, body).First();
    throw new ValidationError(
      `Expected {"op", "options"?, "input": {"uploadId"}} but ${first ? `${first.path || "the body"}: ${first.message}` : "received something else"}`,
    );
  }
  const { uploadId } = body.input;
  const key = uploadKey(uploadId);
  const info = isJobId(uploadId) ? await blobs.head(key) : null;
  if (!info)
    throw new NotFoundError(`No upload with id ${JSON.stringify(uploadId)}; PUT its bytes first`, {
      code: "UPLOAD_NOT_FOUND",
    });
  if (info.sizeBytes > maxUploadBytes) {
    await blobs.delete(key);
    throw new AppError(
      "PAYLOAD_TOO_LARGE",
      `The upload is ${info.sizeBytes} bytes, over the limit of ${maxUploadBytes}`,
    );
  }
  const stream = await blobs.get(key);
  if (!stream) throw new NotFoundError(`Upload ${uploadId} disappeared`, { code: "UPLOAD_NOT_FOUND" });
  return { op: body.op, options: JSON.stringify(body.options ?? {}), file: await readAll(stream), stagedKey: key };
}
