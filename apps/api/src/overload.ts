import underPressure from "@fastify/under-pressure";
import { AppError } from "@imagen/core";
import type { FastifyInstance } from "fastify";

export interface OverloadConfig {
  /** Mean event-loop delay over a sample; 0: not checked. */
  maxEventLoopDelayMs: number;
  /** V8 heap in use; 0: not checked. */
  maxHeapUsedBytes: number;
  /** Resident set size of the process; 0: not checked. */
  maxRssBytes: number;
  /** How often the process is measured. */
  sampleIntervalMs: number;
  /** `Retry-After` of a shed request. */
  retryAfterS: number;
}

type Usage = ReturnType<FastifyInstance["memoryUsage"]>;

/** Which limits the last sample is over, in words; empty when none. */
export function overloadReasons(usage: Usage, config: OverloadConfig): string[] {
  const over = (limit: number, value: number) => limit > 0 && value > limit;
  return [
    over(config.maxEventLoopDelayMs, usage.eventLoopDelay) &&
      `event-loop delay ${Math.round(usage.eventLoopDelay)} ms over ${config.maxEventLoopDelayMs} ms`,
    over(config.maxHeapUsedBytes, usage.heapUsed) &&
      `heap used ${usage.heapUsed} bytes over ${config.maxHeapUsedBytes}`,
    over(config.maxRssBytes, usage.rssBytes) && `RSS ${usage.rssBytes} bytes over ${config.maxRssBytes}`,
  ].filter((reason): reason is string => typeof reason === "string");
}

/**
 * Sheds requests with 503 `OVERLOADED` and `Retry-After` while the process is over a limit, except
 * on the routes `isSheddable` spares (health checks, so an overloaded instance is not also killed
 * as dead). `app.memoryUsage()` then tells readiness why.
 */
export async function registerOverloadShedding(
  app: FastifyInstance,
  config: OverloadConfig,
  isSheddable: (routeUrl: string | undefined) => boolean,
): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: config.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.maxHeapUsedBytes,
    maxRssBytes: config.maxRssBytes,
    sampleInterval: config.sampleIntervalMs,
    retryAfter: config.retryAfterS,
    pressureHandler: (request) => {
      if (!isSheddable(request.routeOptions.url)) return;
      const reasons = overloadReasons(app.memoryUsage(), config).join("; ") || "over a load limit";
      return Promise.reject(
        new AppError("OVERLOADED", `The service is overloaded (${reasons}); retry in ${config.retryAfterS} s`, {
          expose: true,
          retryAfterS: config.retryAfterS,
        }),
      );
    },
  });
}
