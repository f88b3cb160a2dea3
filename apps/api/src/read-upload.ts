import { AppError, ValidationError } from "@imagen/core";
import type { FastifyRequest } from "fastify";

export interface Upload {
  op: string | undefined;
  options: string | undefined;
  file: Buffer | undefined;
  /** Blob key of a two-phase upload, removed once the job holds its own copy of the input. */
  stagedKey?: string;
}

/**
 * Reads the multipart body of `POST /v1/jobs`: the fields `op` and `options` and one `file`. The
 * file is held in memory, bounded by the upload limit (multipart's `fileSize`), because its type and
 * header are checked before anything is stored.
 */
export async function readUpload(request: FastifyRequest): Promise<Upload> {
  if (!request.isMultipart()) {
    throw new AppError(
      "UNSUPPORTED_MEDIA_TYPE",
      "Expected a multipart/form-data body (file, op, options) or JSON naming an upload",
    );
  }
  const upload: Upload = { op: undefined, options: undefined, file: undefined };
  for await (const part of request.parts()) {
    if (part.type === "file") {
      if (part.fieldname !== "file" || upload.file) {
        throw new ValidationError(`Expected one file, in the field "file", but received field "${part.fieldname}"`);
      }
      upload.file = await part.toBuffer();
    } else if (part.fieldname === "op" || part.fieldname === "options") {
      upload[part.fieldname] = String(part.value);
    } else {
      throw new ValidationError(`Unknown form field "${part.fieldname}"; expected file, op and options`);
    }
  }
  return upload;
}
