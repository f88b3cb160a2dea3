import { OP_NAMES } from "@imagen/core";
import { Type } from "@sinclair/typebox";
import type { FastifySchema } from "fastify";
import { errorResponse, optionsSchemaId, response } from "../api-schemas.js";

const LOCATION = { location: { type: "string", description: "The job: /v1/jobs/{id}" } };

/** The JSON body naming a two-phase upload, one variant per op so that each carries its own options. */
const JobFromUploadBody = Type.Union(
  OP_NAMES.map((op) =>
    Type.Object(
      {
        op: Type.Literal(op),
        options: Type.Optional(Type.Ref(optionsSchemaId(op))),
        input: Type.Object({ uploadId: Type.String() }, { additionalProperties: false }),
        webhook: Type.Optional(Type.String({ description: "URL to POST the job to when it ends" })),
      },
      { additionalProperties: false },
    ),
  ),
);

/** `POST /v1/jobs` as documented; its handler checks the body itself. */
export const SUBMIT_SCHEMA: FastifySchema = {
  operationId: "createJob",
  summary: "Submit an image and an operation",
  description:
    "Either multipart/form-data with `file` (the image), `op` and optional `options` (a JSON object " +
    "as a string) and `webhook`, or JSON naming a two-phase upload (`POST /v1/uploads`). The image type " +
    "is sniffed from its bytes; animated images use their first frame.",
  body: {
    content: {
      "multipart/form-data": {
        schema: Type.Object({
          file: Type.String({ format: "binary" }),
          op: Type.Union(OP_NAMES.map((o) => Type.Literal(o))),
          options: Type.Optional(
            Type.String({ description: "JSON object of the op's options (components UpscaleOptions, ...)" }),
          ),
          webhook: Type.Optional(Type.String({ description: "URL to POST the job to when it ends" })),
        }),
      },
      "application/json": { schema: JobFromUploadBody },
    },
  },
  headers: Type.Object({
    "idempotency-key": Type.Optional(
      Type.String({
        description: "Repeat a submission safely: the same key and request within 24 h return the same job",
      }),
    ),
    prefer: Type.Optional(
      Type.String({
        description:
          "`wait=N` (1 to 60 seconds; more counts as 60): answer 200 with the finished job if it ends within N s, " +
          "else as without it. Other preferences are ignored (RFC 7240).",
      }),
    ),
  }),
  response: {
    200: {
      ...response("Job", "The job ended within Prefer: wait (Preference-Applied), or an Idempotency-Key replay"),
      headers: {
        ...LOCATION,
        "preference-applied": { type: "string", description: "wait=N, when the answer waited for the end" },
        "idempotent-replayed": { type: "string", description: "true: an earlier request made this job" },
      },
    },
    202: { ...response("Job", "The job is queued (or, after Prefer: wait, still running)"), headers: LOCATION },
    400: errorResponse("Not a valid submission (UNKNOWN_OP, INVALID_OPTIONS, MISSING_FILE, INVALID_WEBHOOK_URL, ...)"),
    404: errorResponse("The named upload does not exist for this key (UPLOAD_NOT_FOUND)"),
    409: errorResponse("The Idempotency-Key was used for another request (IDEMPOTENCY_CONFLICT)"),
    413: errorResponse("The image is over the upload limit (PAYLOAD_TOO_LARGE)"),
    415: errorResponse("Not an image of a supported format, or not a body this route takes"),
    422: errorResponse("The image or the result is over a pixel limit (IMAGE_TOO_LARGE, OUTPUT_TOO_LARGE)"),
    429: errorResponse("Over the rate limit or the key's active jobs (RATE_LIMITED, QUOTA_EXCEEDED)", {
      retryAfter: true,
    }),
    503: errorResponse("The op's queue is full, it cannot run here, or the service is overloaded", {
      retryAfter: true,
    }),
  },
};
