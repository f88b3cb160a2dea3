import { pino, type DestinationStream, type Logger, type LevelWithSilent } from "pino";

export type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * JSON lines on stdout (or `destination`, for tests); secrets redacted. One logger per process (and
 * per pipeline thread, whose stdout Node forwards to the process's), passed down explicitly.
 */
export function createLogger(options: {
  service: string;
  level: LevelWithSilent;
  destination?: DestinationStream;
}): Logger {
  const settings = {
    name: options.service,
    level: options.level,
    base: { service: options.service },
    redact: ["req.headers.authorization", "*.token", "*.password", "*.privateKey"],
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
