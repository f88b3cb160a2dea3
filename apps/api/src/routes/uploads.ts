import { AppError, isJobId, newJobId, NotFoundError, type BlobStore, type ImageLimits } from "@imagen/core";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { UPLOAD_CONTENT_TYPES, uploadKey } from "../staged-upload.js";

export interface UploadRoutesDeps {
  blobs: BlobStore;
  limits: ImageLimits;
  uploadUrlTtlS: number;
}

const ErrorResponse = Type.Ref("Error");

/**
 * Two-phase upload, for images larger than a proxy lets through in one request: `POST /v1/uploads`
 * gives an id and where to PUT the bytes (a signed storage URL, or this API's own `PUT` route), then
 * `POST /v1/jobs` names the upload. Clients follow the answer, so one code path fits every backend.
 */
export async function uploadRoutes(app: FastifyInstance, deps: UploadRoutesDeps): Promise<void> {
  app.post(
    "/v1/uploads",
    {
      schema: {
        summary: "Start a two-phase upload",
        body: Type.Object(
          { contentType: Type.Union(UPLOAD_CONTENT_TYPES.map((t) => Type.Literal(t))) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            id: Type.String(),
            method: Type.Literal("PUT"),
            url: Type.String(),
            headers: Type.Record(Type.String(), Type.String()),
            maxBytes: Type.Integer(),
            expiresAt: Type.String(),
          }),
          400: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { contentType } = request.body as { contentType: string };
      const id = newJobId();
      const maxBytes = deps.limits.maxUploadBytes;
      const signed = await deps.blobs.uploadUrl(uploadKey(id), {
        contentType,
        maxBytes,
        expiresInS: deps.uploadUrlTtlS,
      });
      return reply.code(201).send({
        id,
        method: "PUT",
        url: signed?.url ?? `/v1/uploads/${id}`,
        headers: signed?.headers ?? { "content-type": contentType },
        maxBytes,
        expiresAt: new Date(Date.now() + deps.uploadUrlTtlS * 1000).toISOString(),
      });
    },
  );

  // The API's own PUT target, for stores that issue no signed upload URLs (the local backend).
  app.addContentTypeParser(
    [...UPLOAD_CONTENT_TYPES, "application/octet-stream"],
    { parseAs: "buffer", bodyLimit: deps.limits.maxUploadBytes },
    (_request, body, done) => done(null, body),
  );
  app.put(
    "/v1/uploads/:id",
    {
      bodyLimit: deps.limits.maxUploadBytes,
      schema: {
        summary: "Upload the bytes of a two-phase upload (when POST /v1/uploads pointed here)",
        params: Type.Object({ id: Type.String() }),
        response: {
          200: Type.Object({ id: Type.String(), bytes: Type.Integer() }),
          404: ErrorResponse,
          413: ErrorResponse,
          415: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!isJobId(id))
        throw new NotFoundError(`No upload with id ${JSON.stringify(id)}`, { code: "UPLOAD_NOT_FOUND" });
      if (!Buffer.isBuffer(request.body)) {
        throw new AppError(
          "UNSUPPORTED_MEDIA_TYPE",
          `Expected the image bytes with one of ${UPLOAD_CONTENT_TYPES.join(", ")}`,
        );
      }
      const contentType = request.headers["content-type"] ?? "application/octet-stream";
      const info = await deps.blobs.put(uploadKey(id), request.body, { contentType });
      return reply.code(200).send({ id, bytes: info.sizeBytes });
    },
  );
}
