import type { Job, JobPatch, WebhookState } from "@imagen/core";
import { deliveryOutcome, type DeliveryResult, type WebhookRetryPolicy } from "@imagen/webhooks";
import type { WebhookOutcome } from "./metrics.js";

/** What a claimed attempt reads as until its result is recorded; it stays so if the dispatcher dies. */
export const UNRECORDED_ATTEMPT = "no result recorded: the delivery is in progress or its dispatcher stopped";

/**
 * The part of a job's final update that makes its webhook due at `at`, for a dispatcher to send;
 * nothing when the job has no webhook.
 */
export function webhookDuePatch(job: Pick<Job, "webhook">, at: Date): Pick<JobPatch, "webhook"> {
  if (job.webhook?.state !== "pending") return {};
  return { webhook: { ...job.webhook, nextAttemptAt: at.toISOString() } };
}

/**
 * A webhook claimed for one try at `at`: the try is recorded at once, without a result, so that the
 * claim changes the attempt count that every other dispatcher's claim expects (only one claim of a
 * try can win); and it is not due again until the lease ends, when another dispatcher takes over.
 */
export function claimedWebhook(webhook: WebhookState, at: Date, leaseMs: number): WebhookState {
  return {
    ...webhook,
    attempts: [...webhook.attempts, { at: at.toISOString(), status: null, error: UNRECORDED_ATTEMPT }],
    nextAttemptAt: new Date(at.getTime() + leaseMs).toISOString(),
  };
}

/**
 * `webhook` (as it was before the claim) with the try that started at `at` recorded: delivered,
 * due again after the retry policy's wait, or failed when the receiver said 410 Gone or the
 * policy gives up.
 */
export function settledWebhook(
  webhook: WebhookState,
  result: DeliveryResult,
  at: Date,
  now: Date,
  retry: WebhookRetryPolicy,
): { webhook: WebhookState; outcome: WebhookOutcome } {
  const attempts = [...webhook.attempts, { at: at.toISOString(), status: result.status, error: result.error }];
  const settle = (state: WebhookState["state"], nextAttemptAt: string | null) => ({
    ...webhook,
    attempts,
    state,
    nextAttemptAt,
  });
  const outcome = deliveryOutcome(result);
  if (outcome === "delivered") return { webhook: settle("delivered", null), outcome: "delivered" };
  const firstAt = new Date(attempts[0]?.at ?? at.toISOString());
  if (outcome === "stop" || retry.givesUp(attempts.length, firstAt, now)) {
    return { webhook: settle("failed", null), outcome: "failed" };
  }
  const next = new Date(now.getTime() + retry.delayMs(attempts.length));
  return { webhook: settle("pending", next.toISOString()), outcome: "retried" };
}
