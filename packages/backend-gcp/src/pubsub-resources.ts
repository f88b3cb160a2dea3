import type { CreateSubscriptionOptions, PubSub } from "@google-cloud/pubsub";
import { GrpcStatus, hasCode } from "./grpc-errors.js";
import type { PubSubNames, SubscriptionSettings } from "./pubsub-settings.js";

/**
 * Creates the op's topic, dead-letter topic and both subscriptions when missing, and leaves existing
 * ones as they are (so changed settings do not reach a subscription that exists: Terraform owns
 * them in production). The dead-letter subscription is created before the subscription whose policy
 * forwards to it, so nothing forwarded is lost. Safe to run from several processes at once.
 */
export async function ensurePubSubResources(
  pubsub: PubSub,
  names: PubSubNames,
  settings: SubscriptionSettings,
): Promise<void> {
  await Promise.all([ensureTopic(pubsub, names.topic), ensureTopic(pubsub, names.deadLetterTopic)]);
  const common = { ackDeadlineSeconds: settings.ackDeadlineSeconds, retryPolicy: settings.retryPolicy };
  await ensureSubscription(pubsub, names.deadLetterTopic, names.deadLetterSubscription, common);
  await ensureSubscription(pubsub, names.topic, names.subscription, {
    ...common,
    deadLetterPolicy: {
      deadLetterTopic: pubsub.topic(names.deadLetterTopic).name,
      maxDeliveryAttempts: settings.maxDeliveryAttempts,
    },
  });
}

async function ensureTopic(pubsub: PubSub, name: string): Promise<void> {
  await ignoreExisting(pubsub.createTopic(name));
}

async function ensureSubscription(
  pubsub: PubSub,
  topic: string,
  name: string,
  options: CreateSubscriptionOptions,
): Promise<void> {
  await ignoreExisting(pubsub.createSubscription(topic, name, options));
}

async function ignoreExisting(creation: Promise<unknown>): Promise<void> {
  try {
    await creation;
  } catch (err) {
    if (!hasCode(err, GrpcStatus.ALREADY_EXISTS)) throw err;
  }
}
