import type { FastifyInstance } from "fastify";
import { response } from "../api-schemas.js";

/** Liveness and readiness. `problems` lists what keeps the service from being ready. */
export async function healthRoutes(app: FastifyInstance, deps: { problems: () => Promise<string[]> }): Promise<void> {
  app.get(
    "/healthz",
    { schema: { operationId: "getLiveness", summary: "Liveness", response: { 200: response("Health", "Alive") } } },
    async () => ({ status: "ok" }),
  );
  app.get(
    "/readyz",
    {
      schema: {
        operationId: "getReadiness",
        summary: "Readiness: backends reachable (and models loaded for an embedded worker)",
        response: {
          200: response("Readiness", "Ready: problems is empty"),
          503: response("Readiness", "Not ready: problems says why"),
        },
      },
    },
    async (_request, reply) => {
      const problems = await deps.problems();
      return reply.code(problems.length === 0 ? 200 : 503).send({
        status: problems.length === 0 ? "ready" : "not-ready",
        problems,
      });
    },
  );
}
