import { readAll, newQueuedJob, inputKey, type Delivery } from "@imagen/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { emulators, uniqueName } from "../test/gcp-test-kit.js";
import { createGcpBackend, type GcpBackend } from "./gcp-backend.js";

describe("createGcpBackend", () => {
  const backends: GcpBackend[] = [];
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((backend) => backend.close()));
  });
  const open = (names: { bucket: string; topicPrefix: string; firestoreCollection: string }) => {
    const backend = createGcpBackend({
      projectId: emulators().projectId,
      ...names,
      queue: { leaseMs: 10_000, pollIntervalMs: 250, maxAttempts: 5, backoffBaseMs: 1_000, backoffMaxMs: 10_000 },
      createResources: true,
      emulators: { pubsub: emulators().pubsub, firestore: emulators().firestore, storage: emulators().storage },
    });
    backends.push(backend);
    return backend;
  };

  it("lets an API and a worker process share jobs, messages and blobs", async () => {
    const names = {
      bucket: uniqueName("bucket"),
      topicPrefix: uniqueName("b"),
      firestoreCollection: uniqueName("jobs"),
    };
    const api = open(names);
    const worker = open(names);
    const job = newQueuedJob(
      {
        id: "0123456789abcdefghjk",
        op: "upscale",
        options: { scale: 2 },
        input: { width: 2, height: 2, format: "png", bytes: 5 },
      },
      new Date(),
    );
    await api.blobs.put(inputKey(job.id), Buffer.from("image"), { contentType: "image/png" });
    await api.jobs.create(job);
    await api.queue.publish("upscale", { jobId: job.id });
    const deliveries: Delivery[] = [];
    worker.queue.consume(
      "upscale",
      async (delivery) => {
        const input = await worker.blobs.get(inputKey(delivery.jobId));
        expect(input && (await readAll(input)).toString()).toBe("image");
        await worker.jobs.update(delivery.jobId, "queued", { status: "succeeded" });
        deliveries.push(delivery);
      },
      { concurrency: 1 },
    );
    await vi.waitFor(() => expect(deliveries).toEqual([{ jobId: job.id, attempt: 1 }]), { timeout: 30_000 });
    expect(await api.jobs.get(job.id)).toMatchObject({ status: "succeeded" });
    await Promise.all([api.jobs.ping(), api.queue.ping(), api.blobs.ping()]);
  });
});
