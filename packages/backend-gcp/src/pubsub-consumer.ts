import { Duration, SubscriptionCloseBehaviors } from "@google-cloud/pubsub";
import type { Message, PubSub, Subscription, SubscriberOptions } from "@google-cloud/pubsub";
import type { Consumer, Logger } from "@imagen/core";

/** What the consumer does with a message once its handler settled. */
export type Outcome = "ack" | "nack";

export interface PubSubConsumerOptions {
  pubsub: PubSub;
  subscription: string;
  /** Flow control, ack deadline and lease extension; close options are set per close. */
  subscriber: SubscriberOptions;
  /**
   * Resolves once the subscription exists (creates it where the queue was told to); `reopening` after
   * a stream failure, which may mean the subscription is gone and must be checked again.
   */
  ready(reopening: boolean): Promise<void>;
  /** Runs the handler; never rejects. */
  dispatch(message: Message): Promise<Outcome>;
  log?: Logger | undefined;
}

export interface PubSubConsumer extends Consumer {
  /** The subscription it pulls from. */
  readonly subscription: string;
  /** Stops without nacking or extending anything, as if the process died. */
  abandon(): Promise<void>;
}

/** Time the SDK keeps after a WaitForProcessing drain to send its final nacks. */
const FINAL_NACK_MS = 1_000;
const REOPEN_MIN_MS = 250;
const REOPEN_MAX_MS = 30_000;

type State = "open" | "closing" | "closed";

/**
 * A streaming-pull consumer that survives stream failures: the SDK reports a non-retryable error
 * with `'error'` and closes the subscription, so this consumer logs it and opens a fresh one after a
 * backoff instead of letting the error crash the process. `close` stops the stream at once, waits
 * for handlers in flight up to the drain timeout (SDK `WaitForProcessing`), then nacks the rest.
 */
export function startPubSubConsumer(options: PubSubConsumerOptions): PubSubConsumer {
  let state: State = "open";
  let current: Subscription | undefined;
  let reopenTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  const { log, subscription: name } = options;

  const settle = async (subscription: Subscription, message: Message) => {
    const outcome = await options.dispatch(message).catch((err: unknown): Outcome => {
      log?.error({ err, subscription: name }, "pubsub message dispatch failed");
      return "nack";
    });
    // After close the SDK has nacked what it still held; an ack now would be dropped anyway.
    if (subscription !== current || state === "closed") return;
    if (outcome === "ack") message.ack();
    else message.nack();
  };
  const open = async (reopening: boolean) => {
    reopenTimer = undefined;
    try {
      await options.ready(reopening);
    } catch (err) {
      log?.warn({ err, subscription: name }, "pubsub subscription setup failed; retrying");
      scheduleReopen();
      return;
    }
    if (state !== "open") return;
    const subscription = options.pubsub.subscription(name, options.subscriber);
    current = subscription;
    subscription.on("message", (message: Message) => {
      failures = 0;
      if (state !== "open") message.nack();
      else void settle(subscription, message);
    });
    subscription.on("error", (err: Error) =>
      log?.warn({ err, subscription: name }, "pubsub subscription error; reopening"),
    );
    subscription.on("close", () => {
      if (state === "open" && current === subscription) scheduleReopen();
    });
  };
  const scheduleReopen = () => {
    if (state !== "open" || reopenTimer !== undefined) return;
    const delayMs = Math.min(REOPEN_MAX_MS, REOPEN_MIN_MS * 2 ** Math.min(failures++, 10));
    // A timer, not a direct call: the SDK still tears the old stream down after emitting 'close'.
    reopenTimer = setTimeout(() => void open(true), delayMs);
  };
  const shut = async (closeOptions: SubscriberOptions["closeOptions"]) => {
    clearTimeout(reopenTimer);
    const subscription = current;
    if (!subscription) return;
    subscription.setOptions({ ...options.subscriber, closeOptions });
    // Listeners stay: an 'error' emitted without one would crash the process.
    await subscription.close();
  };

  void open(false);
  let closing: Promise<void> | undefined;
  return {
    subscription: name,
    close(closeOptions = {}) {
      if (state !== "open") return closing ?? Promise.resolve();
      state = "closing";
      const drainMs = Math.max(0, closeOptions.drainTimeoutMs ?? 0);
      closing = shut({
        behavior: SubscriptionCloseBehaviors.WaitForProcessing,
        timeout: Duration.from({ milliseconds: drainMs + FINAL_NACK_MS }),
      }).finally(() => {
        state = "closed";
      });
      return closing;
    },
    async abandon() {
      if (state === "closed") return;
      state = "closed";
      // A zero timeout makes the SDK drop its leases without nacking them.
      await shut({ timeout: Duration.from({ milliseconds: 0 }) });
    },
  };
}
