import { randomUUID } from "node:crypto";
import type { Consumer, Logger } from "@imagen/core";
import type { LeasedMessage } from "./sqlite-queue-messages.js";

/** What a consumer loop needs from its queue; every call is synchronous SQL. */
export interface ConsumerSource {
  /** Leases the next deliverable message under `token`, or returns `null`. */
  claim(token: string): LeasedMessage | null;
  /** Runs the user's handler for `message`. */
  deliver(message: LeasedMessage): Promise<void>;
  /** Acks (`error` undefined) or hands the message back after a failure. */
  settle(message: LeasedMessage, error: unknown): void;
  /** Renews the lease; `false` when it was lost. */
  extend(message: LeasedMessage): boolean;
  /** Hands a still-running message back so that it is deliverable at once. */
  release(message: LeasedMessage): void;
}

export interface ConsumerLoopOptions {
  concurrency: number;
  pollIntervalMs: number;
  leaseMs: number;
  log?: Logger | undefined;
  /** Called once when the loop stops, by `close` or `abandon`. */
  onStop(): void;
}

export interface ConsumerLoop extends Consumer {
  /** Claims at once instead of at the next poll (a message was published in this process). */
  wake(): void;
  /** Stops without handing anything back, as a process that died would. */
  abandon(): void;
}

interface InFlight {
  message: LeasedMessage;
  done: Promise<void>;
}

/**
 * Polls `source` and runs up to `concurrency` deliveries at once, renewing their leases every
 * `leaseMs / 3` until each handler settles. Nothing it does can reject unobserved: every SQL call
 * after a handler runs is guarded and logged, since the database may be closed by then.
 */
export function startConsumerLoop(source: ConsumerSource, options: ConsumerLoopOptions): ConsumerLoop {
  return new PollingConsumer(source, options);
}

class PollingConsumer implements ConsumerLoop {
  private readonly inFlight = new Map<number, InFlight>();
  private readonly pollTimer: NodeJS.Timeout;
  private readonly leaseTimer: NodeJS.Timeout;
  private stopped = false;
  private wakePending = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly source: ConsumerSource,
    private readonly options: ConsumerLoopOptions,
  ) {
    this.pollTimer = setInterval(() => this.pump(), options.pollIntervalMs);
    this.leaseTimer = setInterval(() => this.renewLeases(), Math.max(1, Math.floor(options.leaseMs / 3)));
    queueMicrotask(() => this.pump());
  }

  wake(): void {
    if (this.stopped || this.wakePending) return;
    this.wakePending = true;
    setImmediate(() => {
      this.wakePending = false;
      this.pump();
    });
  }

  abandon(): void {
    if (this.stopped) return;
    this.stop();
    clearInterval(this.leaseTimer);
  }

  close(closeOptions: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.closing) return this.closing;
    if (this.stopped) return Promise.resolve();
    this.stop();
    this.closing = drain(this.inFlight, closeOptions.drainTimeoutMs ?? 0).then(() => {
      clearInterval(this.leaseTimer);
      for (const { message } of this.inFlight.values()) this.guard("release", () => this.source.release(message));
    });
    return this.closing;
  }

  private stop(): void {
    this.stopped = true;
    clearInterval(this.pollTimer);
    this.options.onStop();
  }

  private pump(): void {
    this.guard("claim", () => {
      while (!this.stopped && this.inFlight.size < this.options.concurrency) {
        const message = this.source.claim(randomUUID());
        if (!message) return;
        this.start(message);
      }
    });
  }

  private start(message: LeasedMessage): void {
    const done = Promise.resolve()
      .then(() => this.source.deliver(message))
      .then(
        () => this.guard("ack", () => this.source.settle(message, undefined)),
        // A handler may reject with nothing; that is still a failure, not an ack.
        (err: unknown) => this.guard("nack", () => this.source.settle(message, err ?? new Error("handler failed"))),
      )
      .finally(() => {
        this.inFlight.delete(message.seq);
        this.pump();
      });
    this.inFlight.set(message.seq, { message, done });
  }

  private renewLeases(): void {
    for (const { message } of this.inFlight.values()) {
      this.guard("lease renewal", () => {
        if (this.source.extend(message)) return;
        this.options.log?.warn({ jobId: message.jobId }, "queue lease lost while the handler ran");
      });
    }
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.log?.warn({ err }, `queue ${what} failed`);
    }
  }
}

/** Waits until the handlers in flight settle or `timeoutMs` passes, whichever comes first. */
async function drain(inFlight: Map<number, InFlight>, timeoutMs: number): Promise<void> {
  if (inFlight.size === 0 || timeoutMs <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  const settled = Promise.allSettled([...inFlight.values()].map((entry) => entry.done)).then(() => undefined);
  await Promise.race([settled, timeout]);
  clearTimeout(timer);
}
