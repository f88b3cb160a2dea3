import { PubSub, type Message } from "@google-cloud/pubsub";
import { PermanentJobError, type Consumer, type DeadLetter, type Delivery } from "@imagen/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { emulators, quietLogger, uniqueName } from "../test/gcp-test-kit.js";
import { createPubSubJobQueue, type PubSubJobQueue, type PubSubJobQueueOptions } from "./pubsub-job-queue.js";
import { pubSubNames } from "./pubsub-settings.js";

/*
 * What the JobQueue contract does not show about the Pub/Sub wiring, against the emulator: the
 * message format, the subscriptions' settings, Pub/Sub's own dead-letter policy, and recovery from a
 * failed stream. See pubsub-job-queue.gcp.test.ts for the emulator's limits.
 */

const WAIT_MS = 30_000;

describe("PubSubJobQueue wiring", () => {
  let admin: PubSub;
  let queues: PubSubJobQueue[];
  let consumers: Consumer[];
  let topicPrefix: string;
  const open = (overrides: Partial<PubSubJobQueueOptions> = {}) => {
    const queue = createPubSubJobQueue({
      projectId: emulators().projectId,
      emulatorHost: emulators().pubsub,
      topicPrefix,
      leaseMs: 10_000,
      maxAttempts: 3,
      backoffBaseMs: 1_000,
      backoffMaxMs: 10_000,
      createResources: true,
      ...overrides,
    });
    queues.push(queue);
    return queue;
  };
  /** A plain SDK subscriber on one of the queue's subscriptions. */
  const listen = (name: string, onMessage: (message: Message) => void) => {
    const subscription = admin.subscription(name);
    subscription.on("message", onMessage);
    consumers.push({ close: () => subscription.close() });
  };
  beforeEach(() => {
    admin = new PubSub({ projectId: emulators().projectId, apiEndpoint: emulators().pubsub });
    queues = [];
    consumers = [];
    topicPrefix = uniqueName("w");
  });
  afterEach(async () => {
    await Promise.all(consumers.map((consumer) => consumer.close()));
    await Promise.all(queues.map((queue) => queue.close()));
    await admin.close();
  });

  it("creates per-op subscriptions with the lease, retry policy and dead-letter policy, idempotently", async () => {
    await open().publish("enhance", { jobId: "job-1" });
    await open().publish("enhance", { jobId: "job-2" });
    const names = pubSubNames("enhance", topicPrefix);
    const [metadata] = await admin.subscription(names.subscription).getMetadata();
    expect(metadata.topic).toBe(admin.topic(names.topic).name);
    expect(metadata.ackDeadlineSeconds).toBe(10);
    expect(metadata.retryPolicy?.minimumBackoff?.seconds).toBe("1");
    expect(metadata.retryPolicy?.maximumBackoff?.seconds).toBe("10");
    expect(metadata.deadLetterPolicy).toEqual({
      deadLetterTopic: admin.topic(names.deadLetterTopic).name,
      maxDeliveryAttempts: 5,
    });
    const [deadLetters] = await admin.subscription(names.deadLetterSubscription).getMetadata();
    expect(deadLetters.topic).toBe(admin.topic(names.deadLetterTopic).name);
  });

  it("publishes the job id as JSON with op and jobId attributes", async () => {
    const queue = open();
    await queue.publish("comic", { jobId: "job-3" });
    const received: Message[] = [];
    listen(pubSubNames("comic", topicPrefix).subscription, (message) => {
      received.push(message);
      message.ack();
    });
    await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: WAIT_MS });
    expect(JSON.parse(received[0]!.data.toString())).toEqual({ jobId: "job-3" });
    expect(received[0]!.attributes).toEqual({ op: "comic", jobId: "job-3" });
    expect(received[0]!.deliveryAttempt).toBe(1);
  });

  it("reports what Pub/Sub's own dead-letter policy forwarded, with its delivery count", async () => {
    const queue = open({ maxAttempts: 5 });
    await queue.publish("upscale", { jobId: "job-4" });
    // A consumer that nacks every delivery stands in for workers that keep dying: the policy counts both.
    listen(pubSubNames("upscale", topicPrefix).subscription, (message) => message.nack());
    const letters: DeadLetter[] = [];
    consumers.push(queue.consumeDeadLetters("upscale", async (letter) => void letters.push(letter)));
    await vi.waitFor(() => expect(letters).toEqual([{ jobId: "job-4", attempts: 5 }]), { timeout: 2 * WAIT_MS });
  });

  it("dead-letters on a PermanentJobError without retrying", async () => {
    const queue = open();
    const deliveries: Delivery[] = [];
    const letters: DeadLetter[] = [];
    consumers.push(
      queue.consume(
        "upscale",
        async (delivery) => {
          deliveries.push(delivery);
          throw new PermanentJobError("UNSUPPORTED_IMAGE", "not an image");
        },
        { concurrency: 1 },
      ),
      queue.consumeDeadLetters("upscale", async (letter) => void letters.push(letter)),
    );
    await queue.publish("upscale", { jobId: "job-5" });
    await vi.waitFor(() => expect(letters).toEqual([{ jobId: "job-5", attempts: 1 }]), { timeout: WAIT_MS });
    expect(deliveries).toEqual([{ jobId: "job-5", attempt: 1 }]);
  });

  it("acks and logs a message that carries no job id instead of retrying it", async () => {
    const log = quietLogger();
    const errors = vi.spyOn(log, "error");
    const queue = open({ log });
    await queue.publish("upscale", { jobId: "job-6" });
    await admin.topic(pubSubNames("upscale", topicPrefix).topic).publishMessage({ data: Buffer.from("not json") });
    const seen: string[] = [];
    consumers.push(queue.consume("upscale", async (delivery) => void seen.push(delivery.jobId), { concurrency: 1 }));
    await vi.waitFor(() => expect(errors).toHaveBeenCalledWith(expect.anything(), "malformed job message dropped"), {
      timeout: WAIT_MS,
    });
    await vi.waitFor(() => expect(seen).toEqual(["job-6"]), { timeout: WAIT_MS });
  });

  it("logs a stream error and resumes consuming instead of crashing", async () => {
    const log = quietLogger();
    const warnings = vi.spyOn(log, "warn");
    const queue = open({ log });
    const seen: string[] = [];
    consumers.push(queue.consume("upscale", async (delivery) => void seen.push(delivery.jobId), { concurrency: 1 }));
    await queue.publish("upscale", { jobId: "job-7" });
    await vi.waitFor(() => expect(seen).toEqual(["job-7"]), { timeout: WAIT_MS });
    // Deleting the subscription under a live stream makes the server end it with NOT_FOUND.
    await admin.subscription(pubSubNames("upscale", topicPrefix).subscription).delete();
    await vi.waitFor(
      () => expect(warnings).toHaveBeenCalledWith(expect.anything(), "pubsub subscription error; reopening"),
      { timeout: WAIT_MS },
    );
    // The consumer re-creates the subscription on reopening; publish only once it exists again.
    await vi.waitFor(
      async () =>
        expect((await admin.subscription(pubSubNames("upscale", topicPrefix).subscription).exists())[0]).toBe(true),
      {
        timeout: WAIT_MS,
      },
    );
    await queue.publish("upscale", { jobId: "job-8" });
    await vi.waitFor(() => expect(seen).toEqual(["job-7", "job-8"]), { timeout: WAIT_MS });
  });

  // ping must not need project-wide access: Terraform grants each identity viewer on only these.
  it("ping, in a process that only publishes, reads every op's topic and fails while one is missing", async () => {
    const publisher = open({ createResources: false });
    await expect(publisher.ping()).rejects.toThrow(/NOT_FOUND/);
    await open().ping();
    await expect(publisher.ping()).resolves.toBeUndefined();
    await admin.topic(pubSubNames("comic", topicPrefix).topic).delete();
    await expect(publisher.ping()).rejects.toThrow(/NOT_FOUND/);
  });

  it("ping, in a process that consumes, reads its subscriptions (not topics) and fails when one is gone", async () => {
    await open().ping();
    const worker = open({ createResources: false });
    consumers.push(worker.consume("upscale", async () => {}, { concurrency: 1 }));
    consumers.push(worker.consumeDeadLetters("upscale", async () => {}));
    await admin.topic(pubSubNames("comic", topicPrefix).topic).delete();
    await expect(worker.ping()).resolves.toBeUndefined();
    await admin.subscription(pubSubNames("upscale", topicPrefix).deadLetterSubscription).delete();
    await expect(worker.ping()).rejects.toThrow(/NOT_FOUND/);
  });
});
