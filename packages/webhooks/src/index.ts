export {
  checkWebhookUrl,
  MAX_WEBHOOK_URL_LENGTH,
  parseWebhookUrl,
  type WebhookUrlOptions,
} from "./check-webhook-url.js";
export { deliverWebhook, webhookHeaders, type DeliveryResult, type WebhookDelivery } from "./deliver-webhook.js";
export type { HostLookup, ResolvedAddress } from "./host-addresses.js";
export {
  deliveryOutcome,
  nextWebhookAttemptDelayMs,
  standardWebhookRetryPolicy,
  webhookGivesUp,
  WEBHOOK_MIN_RETRY_SPAN_MS,
  WEBHOOK_RETRY_DELAYS_MS,
  type WebhookRetryPolicy,
} from "./retry-policy.js";
export { parseWebhookSecret, WebhookSecret } from "./webhook-secret.js";
