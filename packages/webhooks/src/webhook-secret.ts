import { ConfigError } from "@imagen/core";
import { Webhook } from "standardwebhooks";

const PREFIX = "whsec_";
/** Standard Webhooks asks for a key of 24 to 64 random bytes. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/**
 * A parsed signing secret. It signs, and never prints its key: `toString` and `toJSON` give
 * `whsec_…`, so a config object that holds it may be logged.
 */
export class WebhookSecret {
  readonly #signer: Webhook;

  private constructor(signer: Webhook) {
    this.#signer = signer;
  }

  /** Parses `whsec_<base64 key>`; throws `ConfigError` saying what is wrong, without echoing the key. */
  static parse(raw: string): WebhookSecret {
    if (!raw.startsWith(PREFIX)) {
      throw new ConfigError(
        `Expected a webhook secret of the form ${PREFIX}<base64> but it lacks the ${PREFIX} prefix`,
      );
    }
    const encoded = raw.slice(PREFIX.length);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
      throw new ConfigError(`Expected standard padded base64 after ${PREFIX} but the webhook secret is not`);
    }
    const bytes = Buffer.from(encoded, "base64").length;
    if (bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) {
      throw new ConfigError(
        `Expected a webhook secret key of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes but received ${bytes}`,
      );
    }
    return new WebhookSecret(new Webhook(raw));
  }

  /** The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "{msgId}.{seconds}.{body}">`. */
  sign(msgId: string, timestamp: Date, body: string): string {
    return this.#signer.sign(msgId, timestamp, body);
  }

  toString(): string {
    return `${PREFIX}…`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** Parses a `whsec_<base64>` signing secret (IMAGEN_WEBHOOK_SECRET); see `WebhookSecret.parse`. */
export function parseWebhookSecret(raw: string): WebhookSecret {
  return WebhookSecret.parse(raw);
}
