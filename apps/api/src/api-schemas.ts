import {
  ERROR_CATALOG,
  JobViewSchema,
  Nullable,
  OP_NAMES,
  OP_OPTION_SCHEMAS,
  type ErrorCode,
  type OpName,
} from "@imagen/core";
import type { ModelRegistry } from "@imagen/catalogue";
import { Type, type TSchema } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { UPLOAD_CONTENT_TYPES } from "./staged-upload.js";

// The shared schemas of the API: registered once (`registerApiSchemas`) under their `$id`, referenced
// by routes with `Type.Ref`, and named by that `$id` in the OpenAPI document's components.

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      // An enum on a string, not a union of literals: the serializer then writes any code it is given.
      code: Type.Unsafe<ErrorCode>({
        type: "string",
        enum: Object.keys(ERROR_CATALOG),
        description: "Stable code from the error catalogue; clients branch on it",
      }),
      message: Type.String({ description: "What went wrong, for a person" }),
      details: Type.Optional(Type.Unknown({ description: "Machine-readable context, where the error has any" })),
    }),
    requestId: Type.String({ description: "The request's id, as in the x-request-id header" }),
  },
  { $id: "Error", description: "Every error the API answers" },
);

export const JobSchema: TSchema = {
  ...JobViewSchema,
  $id: "Job",
  description: "A job: what was asked, where it stands",
};

export const JobListSchema = Type.Object(
  {
    jobs: Type.Array(Type.Ref("Job")),
    nextCursor: Nullable(Type.String({ description: "Pass as `cursor` for the next page; null on the last" })),
  },
  { $id: "JobList", description: "One page of jobs, newest first" },
);

export const UploadSchema = Type.Object(
  {
    id: Type.String({ description: "Name it as input.uploadId in POST /v1/jobs" }),
    method: Type.Literal("PUT"),
    url: Type.String({ description: "Where to PUT the bytes: a signed storage URL or this API's own route" }),
    headers: Type.Record(Type.String(), Type.String(), { description: "Headers the PUT must carry" }),
    maxBytes: Type.Integer(),
    expiresAt: Type.String(),
  },
  { $id: "Upload", description: "A two-phase upload: where to PUT the image" },
);

export const UploadReceiptSchema = Type.Object(
  { id: Type.String(), bytes: Type.Integer() },
  { $id: "UploadReceipt", description: "The bytes of a two-phase upload, stored" },
);

export const ModelSchema = Type.Object(
  {
    id: Type.String(),
    label: Type.String(),
    default: Type.Boolean(),
    role: Type.Optional(Type.String({ description: "A helper the op runs beside its main model" })),
    selectedBy: Type.Optional(Type.Record(Type.String(), Type.String(), { description: "The option that picks it" })),
    licence: Type.String(),
    source: Type.String({ description: "Where the original weights were published" }),
    available: Nullable(Type.Boolean({ description: "null where this API does not run the models" })),
    unavailableReason: Type.Optional(Type.String()),
  },
  { $id: "Model", description: "A model of the catalogue" },
);

export const OpSchema = Type.Object(
  {
    name: Type.Union(OP_NAMES.map((o) => Type.Literal(o))),
    description: Type.String(),
    available: Nullable(Type.Boolean({ description: "null where this API does not run the models" })),
    unavailableReason: Type.Optional(Type.String()),
    options: Type.Record(Type.String(), Type.Unknown(), { description: "JSON Schema of the op's options" }),
    models: Type.Array(Type.Ref("Model")),
  },
  { $id: "Op", description: "An operation, its options and models" },
);

export const OpListSchema = Type.Object({ ops: Type.Array(Type.Ref("Op")) }, { $id: "OpList" });

export const HealthSchema = Type.Object({ status: Type.Literal("ok") }, { $id: "Health" });

export const ReadinessSchema = Type.Object(
  {
    status: Type.Union([Type.Literal("ready"), Type.Literal("not-ready")]),
    problems: Type.Array(Type.String(), { description: "What keeps the service from being ready; empty when ready" }),
  },
  { $id: "Readiness" },
);

/** The component name of an op's options: `background-removal` → `BackgroundRemovalOptions`. */
export function optionsSchemaId(op: OpName): string {
  return `${op.replace(/(^|-)([a-z])/g, (_m, _dash: string, letter: string) => letter.toUpperCase())}Options`;
}

interface ObjectSchema {
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
  [keyword: string]: unknown;
}

/**
 * An op's option schema as clients get it (`GET /v1/ops`, the OpenAPI document): an option with a
 * default is not required (a client may leave it out), and `model` lists the catalogue's models of the op.
 */
export function exposedOptionsSchema(op: OpName, models: ModelRegistry): Record<string, unknown> {
  // A structured clone is plain JSON Schema: TypeBox's symbol keys do not survive it.
  const schema = structuredClone(OP_OPTION_SCHEMAS[op]) as unknown as ObjectSchema;
  const required = (schema.required ?? []).filter((name) => schema.properties[name]?.default === undefined);
  if (required.length > 0) schema.required = required;
  else delete schema.required;
  const modelIds = models.list(op).map((m) => m.id);
  if (schema.properties.model && modelIds.length > 0) schema.properties.model.enum = modelIds;
  return schema;
}

/** Registers every shared schema, so routes (and the document) can reference them by `$id`. */
export function registerApiSchemas(app: FastifyInstance, models: ModelRegistry): void {
  for (const schema of [
    ErrorSchema,
    JobSchema,
    JobListSchema,
    UploadSchema,
    UploadReceiptSchema,
    ModelSchema,
    OpSchema,
    OpListSchema,
    HealthSchema,
    ReadinessSchema,
  ]) {
    app.addSchema(schema);
  }
  for (const op of OP_NAMES) {
    app.addSchema({ ...exposedOptionsSchema(op, models), $id: optionsSchemaId(op), description: `Options of ${op}` });
  }
}

/** A response of the `Error` schema, with what it means; `Retry-After` documented where the error sends it. */
export function errorResponse(description: string, options: { retryAfter?: boolean } = {}): TSchema {
  const headers = options.retryAfter
    ? { headers: { "retry-after": { type: "integer", description: "Seconds after which a retry may succeed" } } }
    : {};
  return Type.Ref("Error", { description, ...headers });
}

/** A response of a shared schema (`Job`, `JobList`, ...), with what it means. */
export function response(id: string, description: string): TSchema {
  return Type.Ref(id, { description });
}

/** Raw image bytes, in the formats a result is encoded in. */
export function imageContent(types: readonly string[]) {
  const binary = { schema: { type: "string", format: "binary" } };
  return Object.fromEntries(types.map((type) => [type, binary]));
}

/** The content types `PUT /v1/uploads/{id}` takes. */
export const UPLOAD_BODY_TYPES = [...UPLOAD_CONTENT_TYPES, "application/octet-stream"] as const;
