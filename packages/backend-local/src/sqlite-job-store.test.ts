import { join } from "node:path";
import { newQueuedJob, type JobStore } from "@imagen/core";
import { describeJobStoreContract } from "@imagen/testing/contracts";
import { describe, expect, it } from "vitest";
import { makeTempDir } from "../test/temp-dir.js";
import { closeSqliteDatabase, openSqliteDatabase } from "./sqlite-database.js";
import { createSqliteJobStore } from "./sqlite-job-store.js";

describeJobStoreContract("SqliteJobStore", async () => {
  const dir = await makeTempDir("jobs");
  const file = join(dir.path, "imagen.db");
  const stores: JobStore[] = [createSqliteJobStore({ file })];
  const reopen = async () => {
    const store = createSqliteJobStore({ file });
    stores.push(store);
    return store;
  };
  return {
    store: stores[0]!,
    reopen,
    async cleanup() {
      await Promise.all(stores.map((store) => store.close()));
      await dir.remove();
    },
  };
});

describe("SqliteJobStore on a file from before owners, webhooks, idempotency keys and run ids", () => {
  it("adds the new columns and reads old jobs with empty values for the new fields", async () => {
    const dir = await makeTempDir("jobs-old");
    try {
      const file = join(dir.path, "imagen.db");
      const old = openSqliteDatabase(file);
      old.exec(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, op TEXT NOT NULL, status TEXT NOT NULL, created_ms INTEGER NOT NULL, job TEXT NOT NULL)",
      );
      const { owner, webhook, idempotency, runId, ...stored } = newQueuedJob(
        { id: "old-job", op: "upscale", options: {}, input: { width: 1, height: 1, format: "png", bytes: 1 } },
        new Date("2024-01-01T00:00:00.000Z"),
      );
      old
        .prepare("INSERT INTO jobs (id, op, status, created_ms, job) VALUES (?, ?, ?, ?, ?)")
        .run(stored.id, stored.op, stored.status, Date.parse(stored.createdAt), JSON.stringify(stored));
      closeSqliteDatabase(old);

      // Two processes may open the old file at once; both must come up.
      const stores = [createSqliteJobStore({ file }), createSqliteJobStore({ file })];
      expect(await stores[1]!.get("old-job")).toEqual({
        ...stored,
        owner: null,
        runId: null,
        webhook: null,
        idempotency: null,
      });
      expect(await stores[0]!.count({ statuses: ["queued"] })).toBe(1);
      await Promise.all(stores.map((store) => store.close()));
    } finally {
      await dir.remove();
    }
  });
});

describe("SqliteJobStore change hints", () => {
  it("hints at another connection's commits until unsubscribed, and not after close", async () => {
    const dir = await makeTempDir("jobs-hints");
    const file = join(dir.path, "imagen.db");
    const [watching, writing] = [createSqliteJobStore({ file }), createSqliteJobStore({ file })];
    try {
      let hints = 0;
      const hinted = () =>
        new Promise<void>((resolve) => {
          const stop = watching.onChange!("hinted", () => {
            hints++;
            stop();
            resolve();
          });
        });
      const job = newQueuedJob(
        { id: "hinted", op: "comic", options: {}, input: { width: 1, height: 1, format: "png", bytes: 1 } },
        new Date(),
      );
      const first = hinted();
      await writing.create(job);
      await first;
      const second = hinted();
      await writing.update(job.id, "queued", { progress: 0.5 });
      await second;
      expect(hints).toBe(2);
      // Unsubscribed (each listener stopped itself), a commit reaches nobody.
      await writing.update(job.id, "queued", { progress: 0.6 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(hints).toBe(2);
      watching.onChange!("hinted", () => hints++);
      await watching.close();
      await writing.update(job.id, "queued", { progress: 0.7 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(hints).toBe(2);
    } finally {
      await Promise.all([watching.close(), writing.close()]);
      await dir.remove();
    }
  });
});
