import type { FastifyInstance } from "fastify";

/** Liveness and readiness. `problems` lists what keeps the service from being ready. */
export async function healthRoutes(app: FastifyInstance, deps: { problems: () => Promise<string[]> }): Promise<void> {
  app.get("/healthz", { schema: { summary: "Liveness" } }, async () => ({ status: "ok" }));
  app.get(
    "/readyz",
    { schema: { summary: "Readiness: backends reachable (and models loaded for an embedded worker)" } },
    async (_request, reply) => {
      const problems = await deps.problems();
      return reply.code(problems.length === 0 ? 200 : 503).send({
        status: problems.length === 0 ? "ready" : "not-ready",
        problems,
      });
    },
  );
}
