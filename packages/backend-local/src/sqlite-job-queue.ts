import { isPermanentJobError } from "@imagen/core";
import type { Consumer, DeadLetterHandler, DeliveryHandler, JobQueue, Logger, OpName, QueueConfig } from "@imagen/core";
import { backoffDelayMs } from "./backoff.js";
import { watchCommits } from "./commit-watch.js";
import { startConsumerLoop, type ConsumerLoop, type ConsumerSource } from "./queue-consumer.js";
import { closeSqliteDatabase, openSqliteDatabase } from "./sqlite-database.js";
import { createQueueMessages, type LeasedMessage, type QueueMessages } from "./sqlite-queue-messages.js";

export interface SqliteJobQueueOptions extends QueueConfig {
  /** The SQLite file; created with its directory when missing. May be shared with other processes. */
  file: string;
  log?: Logger | undefined;
}

/** A `JobQueue` with one extra call for tests. */
export interface SqliteJobQueue extends JobQueue {
  /**
   * Stops every consumer and closes the file without handing anything back or renewing any lease,
   * as if the process had died: held messages return only when their leases expire.
   */
  abandon(): Promise<void>;
}

interface Registered {
  op: OpName;
  loop: ConsumerLoop;
}

/**
 * A `JobQueue` on a SQLite file, for processes that share a data directory. Each message is a row;
 * a consumer leases it in an IMMEDIATE transaction, so no two consumers (in any process) hold it at
 * once, and renews the lease while the handler runs. A failed delivery comes back after
 * `backoffBaseMs · 2^(attempt-1)` (capped at `backoffMaxMs`); once `maxAttempts` deliveries were
 * made, or the handler threw a `PermanentJobError`, the message is dead-lettered instead. Consumers
 * wake at once for messages published by this instance, and when another process commits to the
 * database (a change of its WAL file); they also poll every `pollIntervalMs`, where file events are
 * unavailable.
 */
export function createSqliteJobQueue(options: SqliteJobQueueOptions): SqliteJobQueue {
  const db = openSqliteDatabase(options.file);
  const messages = createQueueMessages(db);
  const consumers = new Set<Registered>();
  let closed = false;

  const wakeAll = (op: OpName) => {
    for (const consumer of consumers) if (consumer.op === op) consumer.loop.wake();
  };
  const stopWatching = watchCommits(options.file, () => {
    for (const consumer of consumers) consumer.loop.wake();
  });
  const register = (op: OpName, source: ConsumerSource, concurrency: number): Consumer => {
    if (closed) throw new Error("Expected an open queue but consume was called after close");
    const registered: Registered = {
      op,
      loop: startConsumerLoop(source, {
        concurrency,
        pollIntervalMs: options.pollIntervalMs,
        leaseMs: options.leaseMs,
        log: options.log,
        onStop: () => consumers.delete(registered),
      }),
    };
    consumers.add(registered);
    return { close: (closeOptions) => registered.loop.close(closeOptions) };
  };
  const stopAll = async (how: "close" | "abandon") => {
    if (closed) return;
    closed = true;
    stopWatching();
    const loops = [...consumers].map((consumer) => consumer.loop);
    if (how === "close") await Promise.all(loops.map((loop) => loop.close()));
    else loops.forEach((loop) => loop.abandon());
    closeSqliteDatabase(db);
  };

  return {
    async publish(op, message) {
      messages.publish(op, message.jobId, Date.now());
      wakeAll(op);
    },
    consume(op, handler, consumeOptions) {
      if (!Number.isInteger(consumeOptions.concurrency) || consumeOptions.concurrency < 1) {
        throw new RangeError(`Expected a positive integer concurrency but received ${consumeOptions.concurrency}`);
      }
      return register(op, liveSource(op, handler, messages, options, wakeAll), consumeOptions.concurrency);
    },
    consumeDeadLetters(op, handler) {
      return register(op, deadLetterSource(op, handler, messages, options), 1);
    },
    async ping() {
      db.prepare("SELECT 1").get();
    },
    close: () => stopAll("close"),
    abandon: () => stopAll("abandon"),
  };
}

function liveSource(
  op: OpName,
  handler: DeliveryHandler,
  messages: QueueMessages,
  options: SqliteJobQueueOptions,
  wakeAll: (op: OpName) => void,
): ConsumerSource {
  return {
    claim(token) {
      const claim = messages.claimLive(op, token, Date.now(), options.leaseMs, options.maxAttempts);
      if (claim.deadLettered) wakeAll(op);
      return claim.message;
    },
    deliver: (message) => handler({ jobId: message.jobId, attempt: message.deliveries }),
    settle(message, error) {
      if (error === undefined) {
        messages.ack(message.seq, message.token);
        return;
      }
      const exhausted = message.deliveries >= options.maxAttempts || isPermanentJobError(error);
      const log = { err: error, jobId: message.jobId, op, attempt: message.deliveries };
      if (exhausted) {
        options.log?.warn(log, "job message dead-lettered");
        messages.handBack(message.seq, message.token, "dead", Date.now());
        wakeAll(op);
        return;
      }
      const delayMs = backoffDelayMs(message.deliveries, options.backoffBaseMs, options.backoffMaxMs);
      options.log?.info({ ...log, delayMs }, "job message handler failed; will redeliver");
      messages.handBack(message.seq, message.token, "ready", Date.now() + delayMs);
    },
    extend: (message) => messages.extend(message.seq, message.token, Date.now() + options.leaseMs),
    // The delivery already counted; releasing does not add a failure on top of it.
    release: (message) => void messages.handBack(message.seq, message.token, "ready", Date.now()),
  };
}

function deadLetterSource(
  op: OpName,
  handler: DeadLetterHandler,
  messages: QueueMessages,
  options: SqliteJobQueueOptions,
): ConsumerSource {
  return {
    claim: (token) => messages.claimDead(op, token, Date.now(), options.leaseMs),
    deliver: (message: LeasedMessage) => handler({ jobId: message.jobId, attempts: message.deliveries }),
    settle(message, error) {
      if (error === undefined) {
        messages.ack(message.seq, message.token);
        return;
      }
      options.log?.warn({ err: error, jobId: message.jobId, op }, "dead-letter handler failed; will retry");
      messages.handBack(message.seq, message.token, "dead", Date.now() + options.backoffBaseMs);
    },
    extend: (message) => messages.extend(message.seq, message.token, Date.now() + options.leaseMs),
    release: (message) => void messages.handBack(message.seq, message.token, "dead", Date.now()),
  };
}
