import { AppError, isAppError, ValidationError } from "@imagen/core";
import type { FastifyRequest } from "fastify";
import { assertOptionsShape } from "./options-guard.js";

export interface Upload {
  op: string | undefined;
  options: string | undefined;
  webhook: string | undefined;
  file: Buffer | undefined;
}

const FIELDS = ["op", "options", "webhook"] as const;

function isField(name: string): name is (typeof FIELDS)[number] {
  return (FIELDS as readonly string[]).includes(name);
}

/**
 * Reads the multipart body of `POST /v1/jobs`: the fields `op`, `options` and `webhook` and one
 * `file`. The file is held in memory, bounded by the upload limit (multipart's `fileSize`), because
 * its type and header are checked before anything is stored. `options` is bounded here, before any
 * parse (`assertOptionsShape`).
 */
export async function readUpload(request: FastifyRequest): Promise<Upload> {
  if (!request.isMultipart()) {
    throw new AppError(
      "UNSUPPORTED_MEDIA_TYPE",
      "Expected a multipart/form-data body (file, op, options) or JSON naming an upload",
    );
  }
  const upload: Upload = { op: undefined, options: undefined, webhook: undefined, file: undefined };
  try {
    for await (const part of request.parts()) {
      if (part.type === "file") {
        if (part.fieldname !== "file" || upload.file) {
          throw new ValidationError(`Expected one file, in the field "file", but received field "${part.fieldname}"`);
        }
        upload.file = await part.toBuffer();
      } else if (isField(part.fieldname)) {
        const value = String(part.value);
        if (part.fieldname === "options") assertOptionsShape(value);
        upload[part.fieldname] = value;
      } else {
        throw new ValidationError(`Unknown form field "${part.fieldname}"; expected file, op, options and webhook`);
      }
    }
  } catch (err) {
    throw malformedMultipart(err);
  }
  return upload;
}

/**
 * The multipart parser's own errors (no boundary, a body cut short, a broken part header) carry no
 * status; they are the client's fault: 400 `INVALID_REQUEST`. Ours and multipart's limit errors
 * (413 and the like) keep theirs.
 */
function malformedMultipart(err: unknown): unknown {
  if (isAppError(err) || !(err instanceof Error) || typeof (err as { statusCode?: unknown }).statusCode === "number") {
    return err;
  }
  return new AppError("INVALID_REQUEST", `Expected a well-formed multipart/form-data body (${err.message})`, {
    cause: err,
  });
}
