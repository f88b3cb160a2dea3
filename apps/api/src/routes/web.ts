import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";

// Read once at start-up; the page is a single self-contained file.
const page = readFileSync(new URL("../../public/index.html", import.meta.url));

/** `GET /`: a small page to try the service from a browser. */
export async function webRoutes(app: FastifyInstance): Promise<void> {
  app.get("/", { schema: { hide: true } }, async (_request, reply) =>
    reply.type("text/html; charset=utf-8").send(page),
  );
}
