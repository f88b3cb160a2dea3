import { ValidationError } from "@imagen/core";

/**
 * A command line that cannot run as given (an unknown op, a bad option, no input, a missing
 * `--out`): `imagen` prints the message and exits with status 2 (`EXIT_CODES.usage`) before doing any work.
 */
export class UsageError extends ValidationError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: "INVALID_REQUEST", ...options });
    this.name = "UsageError";
  }
}

export function isUsageError(err: unknown): err is UsageError {
  return err instanceof UsageError || (err instanceof Error && err.name === "UsageError");
}
