import type { DeliveryResult } from "./deliver-webhook.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Standard Webhooks' suggested schedule: the wait after try 1, 2, …, roughly exponential and
 * capped at 10 h; past its end the last wait repeats. Its waits add up to 27.6 h.
 */
export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
];

/** A webhook is retried for at least this long after its first try, however the tries were spread. */
export const WEBHOOK_MIN_RETRY_SPAN_MS = 24 * HOUR;

/** ±10 %, so that webhooks failing together (a receiver outage) do not all come back together. */
const JITTER = 0.1;

/** The wait before the next try after `attemptsMade` failed ones (1 or more); `random` returns [0, 1). */
export function nextWebhookAttemptDelayMs(attemptsMade: number, random: () => number = Math.random): number {
  const index = Math.min(Math.max(attemptsMade, 1), WEBHOOK_RETRY_DELAYS_MS.length) - 1;
  const base = WEBHOOK_RETRY_DELAYS_MS[index] ?? 0;
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}

/**
 * Whether to stop after `attemptsMade` failed tries, the first at `firstAttemptAt`: only once the
 * whole schedule was tried and the minimum span has passed, so downtime of the dispatchers cannot
 * cut the retry window short.
 */
export function webhookGivesUp(attemptsMade: number, firstAttemptAt: Date, now: Date): boolean {
  return (
    attemptsMade > WEBHOOK_RETRY_DELAYS_MS.length &&
    now.getTime() - firstAttemptAt.getTime() >= WEBHOOK_MIN_RETRY_SPAN_MS
  );
}

/** When to try again after a failure, and when to stop; tests pass a fast one. */
export interface WebhookRetryPolicy {
  delayMs(attemptsMade: number): number;
  givesUp(attemptsMade: number, firstAttemptAt: Date, now: Date): boolean;
}

export const standardWebhookRetryPolicy: WebhookRetryPolicy = {
  delayMs: (attemptsMade) => nextWebhookAttemptDelayMs(attemptsMade),
  givesUp: webhookGivesUp,
};

/**
 * What a delivery result means: a 2xx is delivered; 410 Gone is the receiver saying it will never
 * want this webhook, so retrying stops; anything else (another status, a network error, a refused
 * address) is retried.
 */
export function deliveryOutcome(result: Pick<DeliveryResult, "status">): "delivered" | "retry" | "stop" {
  if (result.status === null) return "retry";
  if (result.status >= 200 && result.status < 300) return "delivered";
  return result.status === 410 ? "stop" : "retry";
}
