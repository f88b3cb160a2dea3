import type { Logger } from "./logger.js";

/**
 * Runs `shutdown` once on the first SIGTERM or SIGINT, then exits: 0 when it resolved, 1 when it
 * threw. For use in `main.ts` only.
 */
export function onShutdownSignal(log: Logger, shutdown: (signal: string) => Promise<void>): void {
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "shutting down");
      shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
}
