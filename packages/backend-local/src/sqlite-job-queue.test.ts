import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { PermanentJobError } from "@imagen/core";
import type { Consumer, DeadLetter, Delivery, JobQueue } from "@imagen/core";
import { describeJobQueueContract, queueInstancesFixture } from "@imagen/testing/contracts";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeTempDir, type TempDir } from "../test/temp-dir.js";
import { createSqliteJobQueue, type SqliteJobQueue, type SqliteJobQueueOptions } from "./sqlite-job-queue.js";

const TIMING = { leaseMs: 300, maxAttempts: 3, backoffBaseMs: 50, waitMs: 10_000 };
const POLL_MS = 20;

/** A handler that records its delivery and never settles. */
const hang = (into: Delivery[]) => (delivery: Delivery) => {
  into.push(delivery);
  return new Promise<void>(() => {});
};

describeJobQueueContract(
  "SqliteJobQueue",
  async (options) => {
    const dir = await makeTempDir("queue");
    const open = () =>
      createSqliteJobQueue({
        file: join(dir.path, "imagen.db"),
        ...options,
        pollIntervalMs: POLL_MS,
        backoffMaxMs: 5_000,
      });
    return queueInstancesFixture(open, () => dir.remove());
  },
  TIMING,
);

describe("SqliteJobQueue", () => {
  let dir: TempDir;
  let queues: SqliteJobQueue[];
  let consumers: Consumer[];
  const open = (overrides: Partial<SqliteJobQueueOptions> = {}) => {
    const queue = createSqliteJobQueue({
      file: join(dir.path, "imagen.db"),
      ...TIMING,
      pollIntervalMs: POLL_MS,
      backoffMaxMs: 5_000,
      ...overrides,
    });
    queues.push(queue);
    return queue;
  };
  const track = (consumer: Consumer) => {
    consumers.push(consumer);
    return consumer;
  };
  const record = (queue: JobQueue, into: Delivery[], fail = false) =>
    track(
      queue.consume(
        "upscale",
        async (delivery) => {
          into.push(delivery);
          if (fail) throw new Error("fails");
        },
        { concurrency: 1 },
      ),
    );
  beforeEach(async () => {
    dir = await makeTempDir("queue");
    queues = [];
    consumers = [];
  });
  afterEach(async () => {
    await Promise.all(consumers.map((consumer) => consumer.close()));
    await Promise.all(queues.map((queue) => queue.close()));
    await dir.remove();
  });

  it("delivers each message exactly once across two instances on one file", async () => {
    const [a, b] = [open(), open()];
    const ids = Array.from({ length: 30 }, () => randomUUID());
    for (const [i, jobId] of ids.entries()) await (i % 2 ? a : b).publish("upscale", { jobId });
    const seen: Delivery[] = [];
    record(a, seen);
    record(b, seen);
    await vi.waitFor(() => expect(seen).toHaveLength(ids.length), { timeout: 10_000, interval: 10 });
    expect(new Set(seen.map((delivery) => delivery.jobId))).toEqual(new Set(ids));
    expect(seen.every((delivery) => delivery.attempt === 1)).toBe(true);
  });

  it("wakes a consumer of another instance when a message is published, long before its next poll", async () => {
    // Two instances on one file are what two processes are: only the WAL file's change tells the consumer.
    const [publisher, worker] = [open(), open({ pollIntervalMs: 60_000 })];
    const seen: Delivery[] = [];
    record(worker, seen);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const published = performance.now();
    await publisher.publish("upscale", { jobId: "job-1" });
    await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 5_000, interval: 5 });
    expect(performance.now() - published).toBeLessThan(1_000);
  });

  it("dead-letters at once when the handler throws a PermanentJobError", async () => {
    const queue = open({ maxAttempts: 5 });
    await queue.publish("comic", { jobId: "job-1" });
    const attempts: number[] = [];
    const letters: DeadLetter[] = [];
    track(
      queue.consume(
        "comic",
        async (delivery) => {
          attempts.push(delivery.attempt);
          throw new PermanentJobError("UNSUPPORTED_IMAGE", "not an image");
        },
        { concurrency: 1 },
      ),
    );
    track(queue.consumeDeadLetters("comic", async (letter) => void letters.push(letter)));
    await vi.waitFor(() => expect(letters).toEqual([{ jobId: "job-1", attempts: 1 }]), {
      timeout: 10_000,
      interval: 10,
    });
    expect(attempts).toEqual([1]);
  });

  it("waits longer before each redelivery", async () => {
    const queue = open({ maxAttempts: 4, backoffBaseMs: 100 });
    await queue.publish("upscale", { jobId: "job-1" });
    const times: number[] = [];
    track(
      queue.consume(
        "upscale",
        async () => {
          times.push(Date.now());
          throw new Error("fails");
        },
        { concurrency: 1 },
      ),
    );
    await vi.waitFor(() => expect(times).toHaveLength(4), { timeout: 10_000, interval: 10 });
    const gaps = times.slice(1).map((time, i) => time - times[i]!);
    // 100, 200 and 400 ms, each shortened by at most 10 % of jitter.
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[1]).toBeGreaterThanOrEqual(180);
    expect(gaps[2]).toBeGreaterThanOrEqual(360);
  });

  it("dead-letters an expired message that had no attempts left instead of delivering it again", async () => {
    const doomed = open({ maxAttempts: 1 });
    await doomed.publish("upscale", { jobId: "job-1" });
    const first: Delivery[] = [];
    track(doomed.consume("upscale", hang(first), { concurrency: 1 }));
    await vi.waitFor(() => expect(first).toHaveLength(1), { timeout: 10_000, interval: 10 });
    await doomed.abandon();
    const survivor = open({ maxAttempts: 1 });
    const again: Delivery[] = [];
    const letters: DeadLetter[] = [];
    record(survivor, again);
    track(survivor.consumeDeadLetters("upscale", async (letter) => void letters.push(letter)));
    await vi.waitFor(() => expect(letters).toEqual([{ jobId: "job-1", attempts: 1 }]), {
      timeout: 10_000,
      interval: 10,
    });
    expect(again).toEqual([]);
  });

  it("hands a held message back on close long before its lease would end", async () => {
    const holder = open({ leaseMs: 60_000 });
    await holder.publish("upscale", { jobId: "job-1" });
    const held: Delivery[] = [];
    const consumer = track(holder.consume("upscale", hang(held), { concurrency: 1 }));
    await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 10_000, interval: 10 });
    await consumer.close();
    const seen: Delivery[] = [];
    record(open({ leaseMs: 60_000 }), seen);
    await vi.waitFor(() => expect(seen).toEqual([{ jobId: "job-1", attempt: 2 }]), { timeout: 5_000, interval: 10 });
  });

  it("keeps pending messages across a restart of every instance", async () => {
    const first = open();
    await first.publish("enhance", { jobId: "job-1" });
    await first.publish("enhance", { jobId: "job-2" });
    await first.close();
    const seen: string[] = [];
    track(open().consume("enhance", async (delivery) => void seen.push(delivery.jobId), { concurrency: 2 }));
    await vi.waitFor(() => expect(seen.sort()).toEqual(["job-1", "job-2"]), { timeout: 10_000, interval: 10 });
  });

  it("refuses to consume after close", async () => {
    const queue = open();
    await queue.close();
    expect(() => queue.consume("upscale", async () => {}, { concurrency: 1 })).toThrow();
    await expect(queue.publish("upscale", { jobId: "job-1" })).rejects.toThrow();
  });
});
