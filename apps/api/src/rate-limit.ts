import rateLimit, { normalizeIP } from "@fastify/rate-limit";
import { AppError } from "@imagen/core";
import type { FastifyInstance, FastifyRequest } from "fastify";

/** The bucket a request counts against (rate limit, open watches): its API key, or its client address when keys are off. */
export function clientBucket(request: FastifyRequest): string {
  return request.apiKey === null ? `ip:${normalizeIP(request.ip)}` : `key:${request.apiKey}`;
}

/**
 * At most `perMin` requests a minute per bucket on the routes `isLimited` names; over it, 429
 * `RATE_LIMITED` with `Retry-After`. Runs after authentication (route hooks follow the app's), so
 * a request counts against the key it proved. `perMin` 0 turns the limit off.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  options: { perMin: number; isLimited: (routeUrl: string | undefined) => boolean },
): Promise<void> {
  if (options.perMin === 0) return;
  await app.register(rateLimit, {
    max: options.perMin,
    timeWindow: 60_000,
    keyGenerator: clientBucket,
    allowList: (request) => !options.isLimited(request.routeOptions.url),
    errorResponseBuilder: (_request, context) =>
      new AppError("RATE_LIMITED", `Expected at most ${context.max} requests a minute; retry in ${context.after}`, {
        retryAfterS: Math.ceil(context.ttl / 1000),
      }),
  });
}
