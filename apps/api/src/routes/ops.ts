import { OP_DESCRIPTIONS, OP_NAMES, parseOptions, type OpName } from "@imagen/core";
import type { ModelRegistry } from "@imagen/catalogue";
import type { FastifyInstance } from "fastify";
import { exposedOptionsSchema, response } from "../api-schemas.js";
import { localRunProblems, type LocalRun } from "../local-run.js";

export interface OpsRoutesDeps {
  models: ModelRegistry;
  /** Set where this process runs the models (embedded worker): then it tells whether each op can run. */
  localRun: LocalRun | undefined;
}

/**
 * `GET /v1/ops`: each op with its option schema (JSON Schema), the models that can run it (what each
 * is for, its licence, its role) and, where this process runs the models, whether the op can run
 * now and why not. With separate workers `available` is `null`: their `/readyz` reports it.
 */
export async function opsRoutes(app: FastifyInstance, deps: OpsRoutesDeps): Promise<void> {
  const { models, localRun } = deps;
  const describeOp = async (name: OpName) => {
    const problems = localRun ? await localRunProblems(models, localRun, name, parseOptions(name, {})) : [];
    return {
      name,
      description: OP_DESCRIPTIONS[name],
      available: localRun ? problems.length === 0 : null,
      ...(problems.length > 0 && { unavailableReason: problems.join("; ") }),
      options: exposedOptionsSchema(name, models),
      models: await Promise.all(
        models.list(name).map(async (m) => {
          const problem = localRun ? await models.problem(m.id) : null;
          return {
            id: m.id,
            label: m.label,
            default: m.default,
            ...(m.role !== undefined && { role: m.role }),
            ...(m.choice !== undefined && { selectedBy: { [m.choice.option]: m.choice.value } }),
            licence: m.source.licence,
            source: m.source.url,
            available: localRun ? problem === null : null,
            ...(problem !== null && { unavailableReason: problem }),
          };
        }),
      ),
    };
  };
  app.get(
    "/v1/ops",
    {
      schema: {
        operationId: "listOps",
        summary: "The operations, their options and models, and whether each can run",
        response: { 200: response("OpList", "Every op") },
      },
    },
    async () => ({
      ops: await Promise.all(OP_NAMES.map(describeOp)),
    }),
  );
}
