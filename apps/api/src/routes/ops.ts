import { OP_DESCRIPTIONS, OP_NAMES, OP_OPTION_SCHEMAS } from "@imagen/core";
import type { ModelRegistry } from "@imagen/imaging";
import type { FastifyInstance } from "fastify";

/** `GET /v1/ops`: each op with its option schema (JSON Schema) and the models that can run it. */
export async function opsRoutes(app: FastifyInstance, deps: { models: ModelRegistry }): Promise<void> {
  const body = {
    ops: OP_NAMES.map((name) => ({
      name,
      description: OP_DESCRIPTIONS[name],
      options: OP_OPTION_SCHEMAS[name],
      models: deps.models.list(name).map((m) => ({
        id: m.id,
        default: m.default,
        licence: m.source.licence,
      })),
    })),
  };
  app.get("/v1/ops", { schema: { summary: "The operations, their options and models" } }, async () => body);
}
