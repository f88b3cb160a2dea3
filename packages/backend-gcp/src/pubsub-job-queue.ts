import { Duration, PubSub } from "@google-cloud/pubsub";
import type { Message, SubscriberOptions, Topic } from "@google-cloud/pubsub";
import { isPermanentJobError, OP_NAMES } from "@imagen/core";
import type { DeadLetterHandler, DeliveryHandler, JobQueue, Logger, OpName } from "@imagen/core";
import { startPubSubConsumer, type Outcome, type PubSubConsumer } from "./pubsub-consumer.js";
import { ensurePubSubResources } from "./pubsub-resources.js";
import { pubSubNames, subscriptionSettings, type QueueTiming } from "./pubsub-settings.js";

export interface PubSubJobQueueOptions extends QueueTiming {
  projectId: string;
  /** Topics are `<topicPrefix>-<op>` and `<topicPrefix>-<op>-dead-letter`. */
  topicPrefix: string;
  /** Subscriptions are `<subscriptionPrefix>-<op>-worker` and `…-dead-letter` (default `topicPrefix`). */
  subscriptionPrefix?: string | undefined;
  /** The longest a handler may hold a message; its lease is extended until then (default 1 h). */
  maxExtensionMs?: number | undefined;
  /** Creates missing topics and subscriptions on first use (emulators, development). */
  createResources?: boolean | undefined;
  /** `host:port` of a Pub/Sub emulator; unset: the real service (Application Default Credentials). */
  emulatorHost?: string | undefined;
  log?: Logger | undefined;
}

/** A `JobQueue` with one extra call for tests. */
export interface PubSubJobQueue extends JobQueue {
  /** Stops every consumer without nacking or extending leases, as if the process had died. */
  abandon(): Promise<void>;
}

/** Attribute the adapter sets on messages it dead-letters itself. */
const ATTEMPTS_ATTRIBUTE = "attempts";
/** Attribute Pub/Sub sets on messages its dead-letter policy forwarded. */
const SOURCE_DELIVERY_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount";
const DEFAULT_MAX_EXTENSION_MS = 60 * 60 * 1000;

/**
 * A `JobQueue` on Pub/Sub: per op a topic with one subscription that consumers share, and a
 * dead-letter topic with its own subscription. Messages are `{"jobId"}` JSON with `op` and `jobId`
 * attributes, unordered. Consumers use streaming pull with flow control (`concurrency` messages at
 * most, none in excess) and extend each lease until the handler settles or `maxExtensionMs` passed.
 * `attempt` is Pub/Sub's `deliveryAttempt`. A handler that resolves acks; one that throws nacks, so
 * the subscription's retry policy redelivers after a backoff. At `maxAttempts` (or on a
 * `PermanentJobError`) the adapter publishes the message to the dead-letter topic itself and acks,
 * because Pub/Sub's own policy cannot go below 5 attempts; that policy (`max(5, maxAttempts)`) stays
 * as the backstop for messages whose consumers die, and a message delivered beyond `maxAttempts` is
 * dead-lettered without running the handler.
 */
export function createPubSubJobQueue(options: PubSubJobQueueOptions): PubSubJobQueue {
  const pubsub = new PubSub({
    projectId: options.projectId,
    ...(options.emulatorHost === undefined ? {} : { apiEndpoint: options.emulatorHost, emulatorMode: true }),
  });
  const settings = subscriptionSettings(options);
  const names = (op: OpName) => pubSubNames(op, options.topicPrefix, options.subscriptionPrefix);
  const ready = resourceGate((op) => ensurePubSubResources(pubsub, names(op), settings), options.createResources);
  const topics = topicCache(pubsub);
  const consumers = new Set<PubSubConsumer>();
  const subscriber = subscriberOptions(settings.ackDeadlineSeconds, options.maxExtensionMs);
  let closed = false;

  const start = (op: OpName, subscription: string, concurrency: number, dispatch: (m: Message) => Promise<Outcome>) => {
    if (closed) throw new Error("Expected an open queue but consume was called after close");
    const consumer = startPubSubConsumer({
      pubsub,
      subscription,
      subscriber: { ...subscriber, flowControl: { maxMessages: concurrency, allowExcessMessages: false } },
      ready: (reopening) => ready(op, reopening),
      dispatch,
      log: options.log,
    });
    consumers.add(consumer);
    return {
      close: async (closeOptions?: { drainTimeoutMs?: number }) => {
        await consumer.close(closeOptions);
        consumers.delete(consumer);
      },
    };
  };
  const stopAll = async (how: "close" | "abandon") => {
    if (closed) return;
    closed = true;
    await Promise.all([...consumers].map((consumer) => (how === "close" ? consumer.close() : consumer.abandon())));
    consumers.clear();
    await topics.flushAll();
    await pubsub.close();
  };

  return {
    async publish(op, message) {
      await ready(op);
      await topics.get(names(op).topic).publishMessage({
        json: { jobId: message.jobId },
        attributes: { op, jobId: message.jobId },
      });
    },
    consume(op, handler, consumeOptions) {
      if (!Number.isInteger(consumeOptions.concurrency) || consumeOptions.concurrency < 1) {
        throw new RangeError(`Expected a positive integer concurrency but received ${consumeOptions.concurrency}`);
      }
      const deadLetter = forwarder(op, topics.get(names(op).deadLetterTopic), options.log);
      const dispatch = (message: Message) => deliver(op, message, handler, deadLetter, options);
      return start(op, names(op).subscription, consumeOptions.concurrency, dispatch);
    },
    consumeDeadLetters(op, handler) {
      return start(op, names(op).deadLetterSubscription, 1, (message) =>
        deliverDead(op, message, handler, options.log),
      );
    },
    // Reads only what this process uses, which is what its identity may read (Terraform grants
    // viewer on exactly those): the subscriptions it consumes, else, in a process that only
    // publishes, every op's topic. Listing topics would need project-wide access.
    async ping() {
      if (consumers.size > 0) {
        await Promise.all([...consumers].map((consumer) => pubsub.subscription(consumer.subscription).getMetadata()));
        return;
      }
      await Promise.all(
        OP_NAMES.map(async (op) => {
          await ready(op);
          await topics.get(names(op).topic).getMetadata();
        }),
      );
    },
    close: () => stopAll("close"),
    abandon: () => stopAll("abandon"),
  };
}

/**
 * Runs `ensure` once per op (again after it failed, or when `recheck` says the resources may be
 * gone); does nothing unless `enabled`.
 */
function resourceGate(
  ensure: (op: OpName) => Promise<void>,
  enabled: boolean | undefined,
): (op: OpName, recheck?: boolean) => Promise<void> {
  const ensured = new Map<OpName, Promise<void>>();
  return async (op, recheck = false) => {
    if (!enabled) return;
    if (recheck) ensured.delete(op);
    let ensuring = ensured.get(op);
    if (!ensuring) {
      ensuring = ensure(op);
      ensured.set(op, ensuring);
      ensuring.catch(() => ensured.delete(op));
    }
    await ensuring;
  };
}

/** One `Topic` per name, so that publishes to it share the SDK's batching. */
function topicCache(pubsub: PubSub): { get(name: string): Topic; flushAll(): Promise<unknown> } {
  const topics = new Map<string, Topic>();
  return {
    get(name) {
      let topic = topics.get(name);
      if (!topic) {
        topic = pubsub.topic(name);
        topics.set(name, topic);
      }
      return topic;
    },
    flushAll: () => Promise.allSettled([...topics.values()].map((topic) => topic.flush())),
  };
}

function subscriberOptions(ackDeadlineSeconds: number, maxExtensionMs?: number): SubscriberOptions {
  // Pinning the deadline keeps failover after a crash at one lease; by default the SDK lets it
  // grow towards the 99th percentile of handler times, up to 10 minutes.
  const deadline = Duration.from({ seconds: ackDeadlineSeconds });
  return {
    minAckDeadline: deadline,
    maxAckDeadline: deadline,
    maxExtensionTime: Duration.from({ milliseconds: maxExtensionMs ?? DEFAULT_MAX_EXTENSION_MS }),
  };
}

type Forward = (jobId: string, attempts: number) => Promise<Outcome>;

/** Publishes to the dead-letter topic, then acks; if that publish fails, nacks to try again later. */
function forwarder(op: OpName, deadLetterTopic: Topic, log?: Logger): Forward {
  return async (jobId, attempts) => {
    try {
      await deadLetterTopic.publishMessage({
        json: { jobId },
        attributes: { op, jobId, [ATTEMPTS_ATTRIBUTE]: String(attempts) },
      });
      return "ack";
    } catch (err) {
      log?.warn({ err, jobId, op }, "dead-letter publish failed; will redeliver");
      return "nack";
    }
  };
}

async function deliver(
  op: OpName,
  message: Message,
  handler: DeliveryHandler,
  deadLetter: Forward,
  options: PubSubJobQueueOptions,
): Promise<Outcome> {
  const jobId = jobIdOf(message);
  if (jobId === null) {
    options.log?.error({ messageId: message.id, op }, "malformed job message dropped");
    return "ack";
  }
  // 0 means the subscription has no dead-letter policy; every delivery then looks like the first.
  const attempt = Math.max(1, message.deliveryAttempt);
  if (attempt > options.maxAttempts) return deadLetter(jobId, attempt - 1);
  try {
    await handler({ jobId, attempt });
    return "ack";
  } catch (err) {
    const log = { err, jobId, op, attempt };
    if (attempt >= options.maxAttempts || isPermanentJobError(err)) {
      options.log?.warn(log, "job message dead-lettered");
      return deadLetter(jobId, attempt);
    }
    options.log?.info(log, "job message handler failed; will redeliver");
    return "nack";
  }
}

async function deliverDead(op: OpName, message: Message, handler: DeadLetterHandler, log?: Logger): Promise<Outcome> {
  const jobId = jobIdOf(message);
  if (jobId === null) {
    log?.error({ messageId: message.id, op }, "malformed dead letter dropped");
    return "ack";
  }
  const attributes = message.attributes;
  const attempts = Number(attributes[ATTEMPTS_ATTRIBUTE] ?? attributes[SOURCE_DELIVERY_COUNT] ?? 0);
  try {
    await handler({ jobId, attempts: Number.isFinite(attempts) ? attempts : 0 });
    return "ack";
  } catch (err) {
    log?.warn({ err, jobId, op }, "dead-letter handler failed; will retry");
    return "nack";
  }
}

/** The job id from the JSON body, or from the `jobId` attribute; `null` when neither holds one. */
function jobIdOf(message: Message): string | null {
  try {
    const body = JSON.parse(message.data.toString("utf8")) as unknown;
    const jobId = (body as { jobId?: unknown } | null)?.jobId;
    if (typeof jobId === "string" && jobId.length > 0) return jobId;
  } catch {
    // Fall through to the attribute.
  }
  const attribute = message.attributes.jobId;
  return attribute !== undefined && attribute.length > 0 ? attribute : null;
}
