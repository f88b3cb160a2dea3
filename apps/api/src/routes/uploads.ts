import { AppError, newJobId, type BlobStore, type ImageLimits } from "@imagen/core";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { errorResponse, imageContent, response, UPLOAD_BODY_TYPES } from "../api-schemas.js";
import { assertUploadToken, createUploadRecord, UPLOAD_CONTENT_TYPES, uploadKey } from "../staged-upload.js";

export interface UploadRoutesDeps {
  blobs: BlobStore;
  limits: ImageLimits;
  uploadUrlTtlS: number;
}

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
        operationId: "createUpload",
        summary: "Start a two-phase upload",
        body: Type.Object(
          { contentType: Type.Union(UPLOAD_CONTENT_TYPES.map((t) => Type.Literal(t))) },
          { additionalProperties: false },
        ),
        response: {
          201: response("Upload", "Where to PUT the image, and until when"),
          400: errorResponse("The body is not valid: expected {contentType} of an image type (VALIDATION_FAILED)"),
        },
      },
    },
    async (request, reply) => {
      const { contentType } = request.body as { contentType: string };
      const id = newJobId();
      const maxBytes = deps.limits.maxUploadBytes;
      const expiresAt = new Date(Date.now() + deps.uploadUrlTtlS * 1000);
      const signed = await deps.blobs.uploadUrl(uploadKey(id), {
        contentType,
        maxBytes,
        expiresInS: deps.uploadUrlTtlS,
      });
      // Without a signed storage URL, the token in our own PUT URL plays its part.
      const token = await createUploadRecord(deps.blobs, id, {
        owner: request.apiKey ?? null,
        expiresAt,
        withToken: signed === null,
      });
      return reply.code(201).send({
        id,
        method: "PUT",
        url: signed?.url ?? `/v1/uploads/${id}?token=${token}`,
        headers: signed?.headers ?? { "content-type": contentType },
        maxBytes,
        expiresAt: expiresAt.toISOString(),
      });
    },
  );

  // The API's own PUT target, for stores that issue no signed upload URLs (the local backend).
  app.addContentTypeParser(
    [...UPLOAD_BODY_TYPES],
    { parseAs: "buffer", bodyLimit: deps.limits.maxUploadBytes },
    (_request, body, done) => done(null, body),
  );
  app.put(
    "/v1/uploads/:id",
    {
      bodyLimit: deps.limits.maxUploadBytes,
      // The token in the URL authorizes the PUT, as a signed storage URL does; clients send no key to either.
      config: {
        apiKeyRequired: false,
        // Raw bytes: a body schema would refuse the Buffer, so the body is documented, not validated.
        documentedBody: { content: imageContent(UPLOAD_BODY_TYPES) },
      },
      schema: {
        operationId: "putUpload",
        summary: "Upload the bytes of a two-phase upload (when POST /v1/uploads pointed here)",
        description: "The URL POST /v1/uploads returned, with its token, authorizes the PUT, as a signed URL would.",
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 128 })) }),
        response: {
          200: response("UploadReceipt", "The bytes are stored; name the upload in POST /v1/jobs"),
          404: errorResponse("No such upload, it expired, or the token is not its own (UPLOAD_NOT_FOUND)"),
          413: errorResponse("The bytes are over the upload limit (PAYLOAD_TOO_LARGE)"),
          415: errorResponse(
            "Not one of the image content types, or application/octet-stream (UNSUPPORTED_MEDIA_TYPE)",
          ),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      await assertUploadToken(deps.blobs, id, (request.query as { token?: string }).token, new Date());
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
