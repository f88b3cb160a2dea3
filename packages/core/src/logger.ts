import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * JSON lines on stdout; secrets redacted. One logger per process (and per pipeline thread, whose
 * stdout Node forwards to the process's), passed down explicitly.
 */
export function createLogger(options: { service: string; level: LevelWithSilent }): Logger {
  return pino({
    name: options.service,
    level: options.level,
    base: { service: options.service },
    redact: ["req.headers.authorization", "*.token", "*.password", "*.privateKey"],
  });
}
