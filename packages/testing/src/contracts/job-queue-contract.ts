import { randomUUID } from "node:crypto";
import type { Consumer, DeadLetter, Delivery, DeliveryHandler, JobQueue, OpName } from "@imagen/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deferred, observeFor, waitUntil } from "./async-helpers.js";

export interface JobQueueOptions {
  leaseMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
}

export interface JobQueueFixture {
  /** A queue with no messages: nothing published by another test may reach it. */
  queue: JobQueue;
  /** Another queue instance on the same data, as a second process would open it. */
  openAnother(): Promise<JobQueue>;
  /**
   * Stops `queue` (one `openAnother` returned) as if its process died: no lease renewal and nothing
   * handed back. Absent when the adapter cannot simulate that; the test that needs it is skipped.
   */
  crash?: (queue: JobQueue) => Promise<void>;
  /** Closes every queue instance (closing twice must be harmless) and removes their data. */
  cleanup(): Promise<void>;
}

/**
 * The fixture for an adapter whose instances can `abandon()` (stop as if the process died): every
 * instance `open` makes shares the data, and `cleanup` closes them all, then runs `removeData`.
 */
export function queueInstancesFixture<Q extends JobQueue & { abandon(): Promise<void> }>(
  open: () => Q,
  removeData: () => Promise<void> = async () => {},
): JobQueueFixture {
  const instances: Q[] = [open()];
  return {
    queue: instances[0]!,
    async openAnother() {
      const queue = open();
      instances.push(queue);
      return queue;
    },
    async crash(queue) {
      const instance = instances.find((candidate) => candidate === queue);
      if (!instance) throw new Error("Expected a queue from openAnother");
      await instance.abandon();
    },
    async cleanup() {
      await Promise.all(instances.map((queue) => queue.close()));
      await removeData();
    },
  };
}

export interface JobQueueTiming extends JobQueueOptions {
  /** The longest to wait for something that should happen (a delivery, a redelivery). */
  waitMs: number;
}

const OP: OpName = "upscale";

/**
 * The `JobQueue` contract. `makeQueue` is called before every test with the queue settings from
 * `timing`. Every wait derives from `timing`, so slow backends (emulators with leases of 10 s or
 * more) run the same tests with larger numbers.
 */
export function describeJobQueueContract(
  name: string,
  makeQueue: (options: JobQueueOptions) => Promise<JobQueueFixture>,
  timing: JobQueueTiming,
): void {
  const { leaseMs, maxAttempts, backoffBaseMs, waitMs } = timing;
  /** Long enough for a message that was wrongly kept to come back: a lease plus the first backoffs. */
  const quietMs = 2 * leaseMs + 2 * backoffBaseMs;
  const timeout = 4 * waitMs + 10 * leaseMs + backoffBaseMs * 2 ** maxAttempts;

  describe(`JobQueue contract: ${name}`, { timeout }, () => {
    let fixture: JobQueueFixture;
    let queue: JobQueue;
    let consumers: Consumer[];
    const consume = (on: JobQueue, handler: DeliveryHandler, concurrency = 1, op: OpName = OP) => {
      const consumer = on.consume(op, handler, { concurrency });
      consumers.push(consumer);
      return consumer;
    };
    /** Publishes fresh job ids; handlers ignore every other id. */
    const publishNew = async (count: number, on: JobQueue = queue, op: OpName = OP) => {
      const ids = Array.from({ length: count }, () => `job-${randomUUID()}`);
      for (const jobId of ids) await on.publish(op, { jobId });
      return ids;
    };
    beforeEach(async () => {
      fixture = await makeQueue({ leaseMs, maxAttempts, backoffBaseMs });
      queue = fixture.queue;
      consumers = [];
    });
    afterEach(async () => {
      await Promise.all(consumers.map((consumer) => consumer.close()));
      await fixture.cleanup();
    });

    it("delivers a published message with attempt 1 and does not redeliver it once acked", async () => {
      const [jobId] = await publishNew(1);
      const seen: Delivery[] = [];
      consume(queue, async (delivery) => void (delivery.jobId === jobId && seen.push(delivery)));
      await waitUntil(() => seen.length === 1, waitMs, "the delivery");
      expect(seen[0]).toMatchObject({ jobId, attempt: 1 });
      await observeFor(quietMs);
      expect(seen).toHaveLength(1);
    });

    it("delivers a message published after the consumer started", async () => {
      const seen: string[] = [];
      consume(queue, async (delivery) => void seen.push(delivery.jobId));
      const [jobId] = await publishNew(1);
      await waitUntil(() => seen.includes(jobId!), waitMs, "the delivery");
    });

    it("redelivers with attempt 2 after the handler throws", async () => {
      const [jobId] = await publishNew(1);
      const attempts: number[] = [];
      consume(queue, async (delivery) => {
        if (delivery.jobId !== jobId) return;
        attempts.push(delivery.attempt);
        if (delivery.attempt === 1) throw new Error("transient failure");
      });
      await waitUntil(() => attempts.length === 2, waitMs + backoffBaseMs, "the redelivery");
      expect(attempts).toEqual([1, 2]);
      await observeFor(quietMs);
      expect(attempts).toEqual([1, 2]);
    });

    it("redelivers when the handler throws synchronously, without crashing", async () => {
      const [jobId] = await publishNew(1);
      const attempts: number[] = [];
      consume(queue, (delivery) => {
        if (delivery.jobId !== jobId) return Promise.resolve();
        attempts.push(delivery.attempt);
        if (delivery.attempt === 1) throw new Error("synchronous failure");
        return Promise.resolve();
      });
      await waitUntil(() => attempts.length === 2, waitMs + backoffBaseMs, "the redelivery");
      expect(attempts).toEqual([1, 2]);
    });

    it("dead-letters a message after maxAttempts failures, exactly once", async () => {
      const [jobId] = await publishNew(1);
      const attempts: number[] = [];
      const letters: DeadLetter[] = [];
      consume(queue, async (delivery) => {
        if (delivery.jobId !== jobId) return;
        attempts.push(delivery.attempt);
        throw new Error("always fails");
      });
      consumers.push(
        queue.consumeDeadLetters(OP, async (letter) => void (letter.jobId === jobId && letters.push(letter))),
      );
      await waitUntil(
        () => letters.length === 1,
        waitMs * maxAttempts + backoffBaseMs * 2 ** maxAttempts,
        "the dead letter",
      );
      expect(letters[0]).toMatchObject({ jobId, attempts: maxAttempts });
      expect(attempts).toEqual(Array.from({ length: maxAttempts }, (_, i) => i + 1));
      await observeFor(quietMs + backoffBaseMs * 2 ** maxAttempts);
      expect(letters).toHaveLength(1);
      expect(attempts).toHaveLength(maxAttempts);
    });

    it("redelivers a dead letter whose handler throws", async () => {
      const [jobId] = await publishNew(1);
      const letters: DeadLetter[] = [];
      consume(queue, async () => {
        throw new Error("always fails");
      });
      consumers.push(
        queue.consumeDeadLetters(OP, async (letter) => {
          if (letter.jobId !== jobId) return;
          letters.push(letter);
          if (letters.length === 1) throw new Error("dead-letter handler failed");
        }),
      );
      await waitUntil(
        () => letters.length === 2,
        waitMs * (maxAttempts + 1) + backoffBaseMs * 2 ** maxAttempts,
        "two dead-letter deliveries",
      );
      await observeFor(quietMs);
      expect(letters).toHaveLength(2);
    });

    it("runs at most `concurrency` handlers at once and delivers every message", async () => {
      const ids = new Set(await publishNew(6));
      const gate = deferred();
      const done = new Set<string>();
      let inFlight = 0;
      let maxInFlight = 0;
      consume(
        queue,
        async (delivery) => {
          if (!ids.has(delivery.jobId)) return;
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          await gate.promise.finally(() => inFlight--);
          done.add(delivery.jobId);
        },
        2,
      );
      await waitUntil(() => inFlight === 2, waitMs, "two handlers in flight");
      await observeFor(leaseMs);
      expect(inFlight).toBe(2);
      gate.resolve();
      await waitUntil(() => done.size === ids.size, waitMs, "every delivery");
      expect(maxInFlight).toBe(2);
    });

    it("never hands one message to two consumers on two instances at once, and delivers all", async () => {
      const other = await fixture.openAnother();
      const ids = new Set([...(await publishNew(8)), ...(await publishNew(8, other))]);
      const held = new Set<string>();
      const done = new Set<string>();
      let overlaps = 0;
      const handler: DeliveryHandler = async (delivery) => {
        if (!ids.has(delivery.jobId)) return;
        if (held.has(delivery.jobId)) overlaps++;
        held.add(delivery.jobId);
        await observeFor(10);
        held.delete(delivery.jobId);
        done.add(delivery.jobId);
      };
      consume(queue, handler, 2);
      consume(other, handler, 2);
      await waitUntil(() => done.size === ids.size, waitMs * 2, "every delivery");
      expect(overlaps).toBe(0);
    });

    it("redelivers with attempt 2 to another instance when the holder dies", async ({ skip }) => {
      if (!fixture.crash) return skip("the adapter cannot simulate a dead consumer");
      const doomed = await fixture.openAnother();
      const [jobId] = await publishNew(1);
      const taken = deferred<Delivery>();
      consume(doomed, (delivery) => {
        if (delivery.jobId === jobId) taken.resolve(delivery);
        return new Promise<void>(() => {});
      });
      expect(await taken.promise).toMatchObject({ attempt: 1 });
      await fixture.crash(doomed);
      const seen: Delivery[] = [];
      consume(queue, async (delivery) => void (delivery.jobId === jobId && seen.push(delivery)));
      await waitUntil(() => seen.length === 1, waitMs + 2 * leaseMs, "the redelivery");
      expect(seen[0]).toMatchObject({ jobId, attempt: 2 });
    });

    it("extends the lease while a handler runs longer than several leases", async () => {
      const other = await fixture.openAnother();
      const [jobId] = await publishNew(1);
      const deliveries: Delivery[] = [];
      let finished = false;
      const handler: DeliveryHandler = async (delivery) => {
        if (delivery.jobId !== jobId) return;
        deliveries.push(delivery);
        await observeFor(4 * leaseMs);
        finished = true;
      };
      consume(queue, handler);
      consume(other, handler);
      await waitUntil(() => finished, waitMs + 4 * leaseMs, "the long handler");
      await observeFor(quietMs);
      expect(deliveries).toHaveLength(1);
    });

    it("waits on close for the handler in flight, up to drainTimeoutMs, and acks it", async () => {
      const [jobId] = await publishNew(1);
      const started = deferred();
      const gate = deferred();
      let finished = false;
      const consumer = consume(queue, async (delivery) => {
        if (delivery.jobId !== jobId) return;
        started.resolve();
        await gate.promise;
        finished = true;
      });
      await started.promise;
      let closed = false;
      const closing = consumer.close({ drainTimeoutMs: waitMs }).then(() => void (closed = true));
      await observeFor(50);
      expect(closed).toBe(false);
      gate.resolve();
      await closing;
      expect(finished).toBe(true);
      const after: string[] = [];
      consume(await fixture.openAnother(), async (delivery) => void after.push(delivery.jobId));
      await observeFor(quietMs);
      expect(after).not.toContain(jobId);
    });

    it("hands a message still held after the drain timeout back for redelivery", async () => {
      const [jobId] = await publishNew(1);
      const started = deferred();
      const consumer = consume(queue, (delivery) => {
        if (delivery.jobId === jobId) started.resolve();
        return new Promise<void>(() => {});
      });
      await started.promise;
      const closingAt = Date.now();
      await consumer.close({ drainTimeoutMs: Math.min(200, leaseMs) });
      expect(Date.now() - closingAt).toBeLessThan(waitMs);
      const seen: Delivery[] = [];
      consume(await fixture.openAnother(), async (delivery) => void (delivery.jobId === jobId && seen.push(delivery)));
      await waitUntil(() => seen.length === 1, waitMs, "the redelivery");
      expect(seen[0]).toMatchObject({ jobId, attempt: 2 });
    });

    it("delivers messages of one op only to that op's consumers", async () => {
      const [upscaleId] = await publishNew(1, queue, "upscale");
      const [enhanceId] = await publishNew(1, queue, "enhance");
      const upscale: string[] = [];
      const enhance: string[] = [];
      consume(queue, async (delivery) => void upscale.push(delivery.jobId), 1, "upscale");
      consume(queue, async (delivery) => void enhance.push(delivery.jobId), 1, "enhance");
      await waitUntil(() => upscale.includes(upscaleId!) && enhance.includes(enhanceId!), waitMs, "both deliveries");
      await observeFor(quietMs);
      expect(upscale).not.toContain(enhanceId);
      expect(enhance).not.toContain(upscaleId);
    });

    it("keeps published messages when the queue is closed and opened again", async () => {
      const [jobId] = await publishNew(1);
      await queue.close();
      const reopened = await fixture.openAnother();
      const seen: Delivery[] = [];
      consume(reopened, async (delivery) => void (delivery.jobId === jobId && seen.push(delivery)));
      await waitUntil(() => seen.length === 1, waitMs, "the delivery after reopening");
      expect(seen[0]).toMatchObject({ jobId, attempt: 1 });
    });

    it("answers ping", async () => {
      await expect(queue.ping()).resolves.toBeUndefined();
    });
  });
}
