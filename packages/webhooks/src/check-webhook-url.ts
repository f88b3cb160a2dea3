import { isMetadataHost } from "./blocked-address.js";
import { allowedAddresses, type HostLookup } from "./host-addresses.js";
import { invalidWebhookUrl } from "./webhook-url-error.js";

/** Long enough for any real endpoint with a token in its query; short enough to store on every job. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

export interface WebhookUrlOptions {
  /** Accept `http://` as well as `https://` (IMAGEN_WEBHOOK_ALLOW_HTTP). */
  allowHttp: boolean;
  /** Accept hosts on private, loopback and other internal addresses (IMAGEN_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
  /** Resolves the host; the system resolver by default. */
  lookup?: HostLookup;
}

/**
 * Checks a webhook URL given at job submission and returns it parsed: the scheme, no credentials,
 * a length bound, and every address its host resolves to (see `allowedAddresses`). Throws
 * `ValidationError` with code `INVALID_WEBHOOK_URL`, its message saying why. Delivery checks the
 * addresses again when it connects, since DNS may answer differently by then.
 */
export async function checkWebhookUrl(raw: string, options: WebhookUrlOptions): Promise<URL> {
  const url = parseWebhookUrl(raw, options);
  await allowedAddresses(webhookHost(url), options);
  return url;
}

/** The URL checks that need no lookup; throws `INVALID_WEBHOOK_URL`. */
export function parseWebhookUrl(raw: string, options: { allowHttp: boolean }): URL {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) {
    throw invalidWebhookUrl(
      `Expected a webhook URL of at most ${MAX_WEBHOOK_URL_LENGTH} characters but received ${raw.length}`,
    );
  }
  const url = URL.parse(raw);
  if (!url) throw invalidWebhookUrl(`Expected an absolute webhook URL but received ${JSON.stringify(raw)}`);
  const schemes = options.allowHttp ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) {
    throw invalidWebhookUrl(
      `Expected a webhook URL starting with ${schemes.map((s) => `${s}//`).join(" or ")} but received ${url.protocol}//`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw invalidWebhookUrl("Expected a webhook URL without credentials; put a token in the path or query instead");
  }
  const host = webhookHost(url);
  if (host === "") throw invalidWebhookUrl("Expected a webhook URL with a host");
  if (isMetadataHost(host)) throw invalidWebhookUrl(`Expected a public webhook host but ${host} is a metadata server`);
  return url;
}

/** The URL's host name or IP, without the brackets of an IPv6 literal. */
export function webhookHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}
