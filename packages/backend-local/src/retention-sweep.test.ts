import { utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { inputKey, newQueuedJob, outputKey, type Job } from "@imagen/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "../test/temp-dir.js";
import { createLocalBackend, type LocalBackend } from "./local-backend.js";
import { sweepExpired } from "./retention-sweep.js";
import { closeSqliteDatabase, openSqliteDatabase, type SqliteDatabase } from "./sqlite-database.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = new Date("2025-06-10T12:00:00.000Z");
const RUN = { attempt: 1, runId: "run-a" };
const POLICY = { jobTtlMs: 7 * DAY_MS, orphanUploadTtlMs: 7 * DAY_MS };
const QUEUE = { leaseMs: 1_000, pollIntervalMs: 20, maxAttempts: 3, backoffBaseMs: 10, backoffMaxMs: 50 };

function jobCreated(daysAgo: number, fields: Partial<Pick<Job, "idempotency">> = {}): Job {
  return newQueuedJob(
    {
      id: `job-${daysAgo}d-${Math.random().toString(36).slice(2, 8)}`,
      op: "upscale",
      options: {},
      input: { width: 1, height: 1, format: "png", bytes: 3 },
      ...fields,
    },
    new Date(NOW.getTime() - daysAgo * DAY_MS),
  );
}

describe("sweepExpired (local retention)", () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let backend: LocalBackend;
  let db: SqliteDatabase;
  const blobRoot = () => join(dir.path, "blobs");
  /** Writes a blob and dates its files `daysAgo`. */
  async function blob(key: string, daysAgo: number, body = "img"): Promise<void> {
    await backend.blobs.put(key, Buffer.from(body), { contentType: "image/png" });
    const at = new Date(NOW.getTime() - daysAgo * DAY_MS);
    await utimes(join(blobRoot(), key), at, at);
    await utimes(join(blobRoot(), ".meta", `${key}.json`), at, at);
    // A job's outputs live in a directory of their own, last changed when its newest output was written.
    if (key.split("/").length === 3) await utimes(dirname(join(blobRoot(), key)), at, at);
  }
  const exists = async (key: string) => (await backend.blobs.head(key)) !== null;

  beforeEach(async () => {
    dir = await makeTempDir("retention");
    backend = createLocalBackend({ dataDir: dir.path, queue: QUEUE });
    db = openSqliteDatabase(join(dir.path, "imagen.db"));
  });
  afterEach(async () => {
    closeSqliteDatabase(db);
    await backend.close();
    await dir.remove();
  });

  it("removes jobs, inputs and outputs past JOB_TTL_DAYS and keeps newer ones", async () => {
    const old = jobCreated(8);
    const recent = jobCreated(6);
    for (const job of [old, recent]) await backend.jobs.create(job);
    await blob(inputKey(old.id), 8);
    await blob(outputKey(old.id, RUN, "png"), 8);
    await blob(inputKey(recent.id), 6);
    await blob(outputKey(recent.id, RUN, "png"), 6);
    // An input whose job was never created (the API died between the two writes).
    await blob(inputKey("orphan"), 9);

    expect(await sweepExpired(db, blobRoot(), POLICY, NOW)).toEqual({ jobs: 1, blobs: 3 });
    expect(await backend.jobs.get(old.id)).toBeNull();
    expect(await backend.jobs.get(recent.id)).not.toBeNull();
    expect(await exists(inputKey(old.id))).toBe(false);
    expect(await exists(outputKey(old.id, RUN, "png"))).toBe(false);
    expect(await exists(inputKey("orphan"))).toBe(false);
    expect(await exists(inputKey(recent.id))).toBe(true);
    expect(await exists(outputKey(recent.id, RUN, "png"))).toBe(true);
    expect(await sweepExpired(db, blobRoot(), POLICY, NOW)).toEqual({ jobs: 0, blobs: 0 });
  });

  it("frees the idempotency key of a removed job, and drops expired keys", async () => {
    const key = { key: "k", fingerprint: "f", expiresAt: new Date(NOW.getTime() + DAY_MS).toISOString() };
    const old = jobCreated(8, { idempotency: key });
    await backend.jobs.create(old);
    await sweepExpired(db, blobRoot(), POLICY, NOW);
    expect(await backend.jobs.findByIdempotencyKey(null, "k", NOW)).toBeNull();
    expect(db.prepare("SELECT COUNT(*) AS n FROM idempotency_keys").get()).toEqual({ n: 0 });
  });

  it("removes uploads whose record expired and orphaned or half-written uploads, keeping live ones", async () => {
    const record = (expiresAt: Date) =>
      JSON.stringify({ owner: null, expiresAt: expiresAt.toISOString(), tokenSha256: null });
    await blob("uploads/expired", 0);
    await blob("uploads/expired.json", 0, record(new Date(NOW.getTime() - 1_000)));
    await blob("uploads/live", 0);
    await blob("uploads/live.json", 0, record(new Date(NOW.getTime() + 60_000)));
    await blob("uploads/orphan", 8);
    await blob("uploads/young-orphan", 1);
    await writeFile(join(blobRoot(), "uploads", ".tmp-dead-write"), "x");
    const twoHoursAgo = new Date(NOW.getTime() - 2 * 60 * 60 * 1000);
    await utimes(join(blobRoot(), "uploads", ".tmp-dead-write"), twoHoursAgo, twoHoursAgo);

    expect(await sweepExpired(db, blobRoot(), POLICY, NOW)).toEqual({ jobs: 0, blobs: 3 });
    expect(await exists("uploads/expired")).toBe(false);
    expect(await exists("uploads/expired.json")).toBe(false);
    expect(await exists("uploads/orphan")).toBe(false);
    expect(await exists("uploads/live")).toBe(true);
    expect(await exists("uploads/live.json")).toBe(true);
    expect(await exists("uploads/young-orphan")).toBe(true);
  });
});

describe("createLocalBackend with retention", () => {
  it("sweeps at start and stops its timer on close", async () => {
    const dir = await makeTempDir("retention-timer");
    try {
      const first = createLocalBackend({ dataDir: dir.path, queue: QUEUE });
      const old = newQueuedJob(
        { id: "old", op: "upscale", options: {}, input: { width: 1, height: 1, format: "png", bytes: 1 } },
        new Date(Date.now() - 30 * DAY_MS),
      );
      await first.jobs.create(old);
      await first.close();
      const swept = createLocalBackend({
        dataDir: dir.path,
        queue: QUEUE,
        retention: { jobTtlMs: DAY_MS, intervalMs: 60_000 },
      });
      await expect.poll(() => swept.jobs.get("old"), { timeout: 5_000 }).toBeNull();
      await swept.close();
    } finally {
      await dir.remove();
    }
  });
});
