import type { OpName } from "@imagen/core";

/** The Pub/Sub resources of one op. */
export interface PubSubNames {
  topic: string;
  subscription: string;
  deadLetterTopic: string;
  deadLetterSubscription: string;
}

/**
 * Topics `<topicPrefix>-<op>` and `<topicPrefix>-<op>-dead-letter`; subscriptions
 * `<subscriptionPrefix>-<op>-worker` and `<subscriptionPrefix>-<op>-dead-letter-sub` (the names
 * Terraform and the Kubernetes autoscalers use).
 */
export function pubSubNames(op: OpName, topicPrefix: string, subscriptionPrefix = topicPrefix): PubSubNames {
  return {
    topic: `${topicPrefix}-${op}`,
    subscription: `${subscriptionPrefix}-${op}-worker`,
    deadLetterTopic: `${topicPrefix}-${op}-dead-letter`,
    deadLetterSubscription: `${subscriptionPrefix}-${op}-dead-letter-sub`,
  };
}

export interface QueueTiming {
  leaseMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** A protobuf Duration, as the admin API takes it. */
export interface ProtoDuration {
  seconds: number;
  nanos: number;
}

export interface SubscriptionSettings {
  /** Pub/Sub accepts 10..600 s; the lease the adapter keeps extending while a handler runs. */
  ackDeadlineSeconds: number;
  /** Pub/Sub accepts 0..600 s for both bounds. */
  retryPolicy: { minimumBackoff: ProtoDuration; maximumBackoff: ProtoDuration };
  /**
   * Pub/Sub accepts 5..100. The adapter itself dead-letters at `maxAttempts` (it publishes to the
   * dead-letter topic and acks), so this policy is the backstop for messages whose consumers keep
   * dying; it also makes Pub/Sub fill in `deliveryAttempt`, which is 0 without a dead-letter policy.
   */
  maxDeliveryAttempts: number;
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

function protoDuration(ms: number): ProtoDuration {
  const whole = Math.floor(ms / 1000);
  return { seconds: whole, nanos: Math.round(ms - whole * 1000) * 1_000_000 };
}

/** The subscription settings that carry the port's queue timing, within Pub/Sub's limits. */
export function subscriptionSettings(timing: QueueTiming): SubscriptionSettings {
  const minBackoffMs = clamp(timing.backoffBaseMs, 0, 600_000);
  const maxBackoffMs = clamp(timing.backoffMaxMs, minBackoffMs, 600_000);
  return {
    ackDeadlineSeconds: clamp(Math.ceil(timing.leaseMs / 1000), 10, 600),
    retryPolicy: { minimumBackoff: protoDuration(minBackoffMs), maximumBackoff: protoDuration(maxBackoffMs) },
    maxDeliveryAttempts: clamp(timing.maxAttempts, 5, 100),
  };
}
