import type { OpName } from "../ops.js";

export interface JobMessage {
  jobId: string;
}

export interface Delivery {
  jobId: string;
  /** 1 on first delivery, +1 on every redelivery. */
  attempt: number;
}

export interface DeadLetter {
  jobId: string;
  /** Deliveries made before the message was dead-lettered. */
  attempts: number;
}

/**
 * Resolving acks the message. Throwing (or the process dying) hands it back: it is redelivered
 * after a backoff, or dead-lettered once `attempt` reached the queue's maximum.
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;
export type DeadLetterHandler = (letter: DeadLetter) => Promise<void>;

export interface ConsumeOptions {
  /** Messages handled at once by this consumer. */
  concurrency: number;
}

export interface Consumer {
  /**
   * Stops pulling, waits up to `drainTimeoutMs` (default: no wait) for handlers in flight, then
   * hands back any message still held so that it is redelivered without waiting for its lease.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/**
 * One topic per op. Delivery is at least once: a message is held by one consumer at a time under a
 * lease that the adapter extends while the handler runs; a lease that expires (the consumer died)
 * makes the message deliverable again. Redeliveries back off exponentially.
 */
export interface JobQueue {
  publish(op: OpName, message: JobMessage): Promise<void>;

  consume(op: OpName, handler: DeliveryHandler, options: ConsumeOptions): Consumer;

  /** Receives each message of `op` that exhausted its attempts, once; resolving acks it. */
  consumeDeadLetters(op: OpName, handler: DeadLetterHandler): Consumer;

  ping(): Promise<void>;

  close(): Promise<void>;
}
