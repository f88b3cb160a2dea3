import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** JSON lines on stdout; secrets redacted. One logger per process, passed down explicitly. */
export function createLogger(options: { service: string; level: LevelWithSilent }): Logger {
  return pino({
    name: options.service,
    level: options.level,
    base: { service: options.service },
    redact: ["req.headers.authorization", "*.token", "*.password", "*.privateKey"],
  });
}
