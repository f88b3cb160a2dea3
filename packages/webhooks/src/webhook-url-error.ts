import { ValidationError } from "@imagen/core";

/** A webhook URL that may not be used; the API answers it with 400 `INVALID_WEBHOOK_URL`. */
export function invalidWebhookUrl(message: string, cause?: unknown): ValidationError {
  return new ValidationError(message, { code: "INVALID_WEBHOOK_URL", cause });
}
