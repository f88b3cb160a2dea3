import { AppError } from "@imagen/core";
import type { FastifyInstance, HTTPMethods } from "fastify";

/** Methods a client may try on a path; OPTIONS is left to CORS preflight. */
const METHODS: readonly HTTPMethods[] = ["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT", "TRACE", "QUERY"];

/**
 * Answers a method a documented path does not take with 405 `METHOD_NOT_ALLOWED` and an `Allow`
 * header, instead of the 404 of an unknown path. Call `collect` before the routes are registered
 * and `register` after them.
 */
export function methodNotAllowed(app: FastifyInstance, appliesTo: (url: string) => boolean) {
  const methodsByUrl = new Map<string, Set<string>>();
  return {
    collect() {
      app.addHook("onRoute", (route) => {
        if (!appliesTo(route.url)) return;
        const methods = methodsByUrl.get(route.url) ?? new Set<string>();
        for (const method of [route.method].flat()) methods.add(method);
        methodsByUrl.set(route.url, methods);
      });
    },
    register() {
      for (const [url, methods] of [...methodsByUrl]) {
        // Fastify answers HEAD for every GET route itself.
        if (methods.has("GET")) methods.add("HEAD");
        const missing = METHODS.filter((method) => !methods.has(method));
        if (missing.length === 0) continue;
        const allow = [...methods].sort().join(", ");
        app.route({
          method: missing,
          url,
          schema: { hide: true },
          // Before any body is parsed: the method alone decides.
          onRequest: async (request, reply) => {
            reply.header("allow", allow);
            throw new AppError("METHOD_NOT_ALLOWED", `${url} takes ${allow}, not ${request.method}`);
          },
          handler: async () => undefined,
        });
      }
    },
  };
}
