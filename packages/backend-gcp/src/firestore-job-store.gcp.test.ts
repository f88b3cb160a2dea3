import { Firestore, Timestamp } from "@google-cloud/firestore";
import { newQueuedJob, type JobStore } from "@imagen/core";
import { describeJobStoreContract } from "@imagen/testing/contracts";
import { afterEach, describe, expect, it } from "vitest";
import { emulators, uniqueName } from "../test/gcp-test-kit.js";
import { createFirestoreJobStore, type FirestoreJobStoreOptions } from "./firestore-job-store.js";

/*
 * Against the Firestore emulator (gcloud). It does not enforce composite indexes, so the queries
 * `list` makes are not proven to be covered by firestore.indexes.json here; nor does it run TTL
 * deletion: only that `expireAt` is written is checked.
 */

const open = (overrides: Partial<FirestoreJobStoreOptions> = {}) =>
  createFirestoreJobStore({
    projectId: emulators().projectId,
    emulatorHost: emulators().firestore,
    collection: uniqueName("jobs"),
    ...overrides,
  });

describeJobStoreContract("FirestoreJobStore", async () => {
  const collection = uniqueName("jobs");
  const stores: JobStore[] = [open({ collection })];
  return {
    store: stores[0]!,
    async reopen() {
      const store = open({ collection });
      stores.push(store);
      return store;
    },
    async cleanup() {
      await Promise.all(stores.map((store) => store.close()));
    },
  };
});

describe("FirestoreJobStore documents", () => {
  const clients: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  it("writes expireAt at creation plus ttlDays, for a TTL policy, and hides it from the job", async () => {
    const collection = uniqueName("jobs");
    const store = open({ collection, ttlDays: 7 });
    const raw = new Firestore({ projectId: emulators().projectId, host: emulators().firestore, ssl: false });
    clients.push(store, { close: () => raw.terminate() });
    const job = newQueuedJob(
      {
        id: "0123456789abcdefghjk",
        op: "comic",
        options: { model: undefined },
        input: { width: 1, height: 1, format: "png", bytes: 1 },
      },
      new Date("2024-03-01T00:00:00.000Z"),
    );
    await store.create(job);
    await store.update(job.id, "queued", { status: "running" });
    const stored = (await raw.collection(collection).doc(job.id).get()).data();
    expect(stored?.expireAt).toBeInstanceOf(Timestamp);
    expect((stored?.expireAt as Timestamp).toDate().toISOString()).toBe("2024-03-08T00:00:00.000Z");
    expect(stored?.createdAtMs).toBe(Date.parse(job.createdAt));
    expect(await store.get(job.id)).not.toHaveProperty("expireAt");
  });

  it("treats ids Firestore cannot name as missing, and refuses to create them", async () => {
    const store = open();
    clients.push(store);
    expect(await store.get("a/b")).toBeNull();
    expect(await store.update("__x__", "queued", { status: "running" })).toEqual({ ok: false, reason: "not-found" });
    await store.delete("..");
    const job = newQueuedJob(
      { id: "a/b", op: "comic", options: {}, input: { width: 1, height: 1, format: "png", bytes: 1 } },
      new Date(),
    );
    await expect(store.create(job)).rejects.toMatchObject({ name: "ValidationError" });
  });

  it("hints at another client's update of the job through a document listener, until stopped; an id that is no document path gets a stop that does nothing", async () => {
    const collection = uniqueName("jobs");
    const [watching, writing] = [open({ collection }), open({ collection })];
    clients.push(watching, writing);
    const job = newQueuedJob(
      { id: "hintedjob", op: "comic", options: {}, input: { width: 1, height: 1, format: "png", bytes: 1 } },
      new Date(),
    );
    await writing.create(job);
    let hints = 0;
    let onHint = () => {};
    const stop = watching.onChange!(job.id, () => {
      hints++;
      onHint();
    });
    const hinted = (count: number) =>
      new Promise<void>((resolve) => {
        onHint = () => {
          if (hints >= count) resolve();
        };
        onHint();
      });
    // The listener's first snapshot is the document as it is; the update is the next.
    await hinted(1);
    await writing.update(job.id, "queued", { progress: 0.5 });
    await hinted(2);
    stop();
    await writing.update(job.id, "queued", { progress: 0.6 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hints).toBe(2);
    const noDocument = watching.onChange!("a/b", () => hints++);
    expect(noDocument).toBeTypeOf("function");
    noDocument();
  });
});
