import { randomUUID } from "node:crypto";
import { isAppError, newQueuedJob } from "@imagen/core";
import type { Job, JobExpected, JobFilter, JobStore, OpName } from "@imagen/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rejectionOf } from "./async-helpers.js";

export interface JobStoreFixture {
  /** An empty store: no job from another test may show in its `list`. */
  store: JobStore;
  /** A second store on the same data, as another process would open it; absent if it has none. */
  reopen?: () => Promise<JobStore>;
  /** Closes `store` and every reopened one, and removes their data. */
  cleanup(): Promise<void>;
}

const BASE_MS = Date.parse("2024-01-01T00:00:00.000Z");

const HOUR_MS = 60 * 60 * 1000;

function makeJob(
  overrides: { op?: OpName; createdAtMs?: number; id?: string } & Partial<
    Pick<Job, "owner" | "webhook" | "idempotency">
  > = {},
): Job {
  const { createdAtMs, ...fields } = overrides;
  return newQueuedJob(
    {
      id: randomUUID(),
      op: "upscale",
      options: { scale: 4 },
      input: { width: 64, height: 48, format: "png", bytes: 1234 },
      ...fields,
    },
    new Date(createdAtMs ?? BASE_MS),
  );
}

/** An idempotency key held for `ttlMs` from now (negative: already expired). */
function idempotent(key: string, ttlMs = HOUR_MS): NonNullable<Job["idempotency"]> {
  return { key, fingerprint: `fp-${key}`, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
}

function pendingWebhook(nextAttemptAt: string | null): NonNullable<Job["webhook"]> {
  return { url: "https://hooks.example.com/imagen", state: "pending", attempts: [], nextAttemptAt };
}

/** What a worker's claim expects: a queued job, or one running under an older attempt. */
function claimable(attempt: number): JobExpected {
  return ["queued", { status: "running", attemptsBelow: attempt }];
}

/** Newest first by `createdAt`, then by id, both descending (the order every store must use). */
function newestFirst(jobs: Job[]): string[] {
  return [...jobs]
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .map((job) => job.id);
}

async function listAll(store: JobStore, filter: JobFilter, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 1; pages <= 100; pages++) {
    const page = await store.list(filter, cursor === undefined ? { limit } : { limit, cursor });
    expect(page.jobs.length).toBeLessThanOrEqual(limit);
    ids.push(...page.jobs.map((job) => job.id));
    if (page.nextCursor === null) return { ids, pages };
    cursor = page.nextCursor;
  }
  throw new Error("Expected pagination to end within 100 pages");
}

/**
 * The `JobStore` contract. `makeStore` is called before every test and must return an empty store;
 * its `cleanup` runs after the test.
 */
export function describeJobStoreContract(name: string, makeStore: () => Promise<JobStoreFixture>): void {
  describe(`JobStore contract: ${name}`, () => {
    let fixture: JobStoreFixture;
    let store: JobStore;
    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it("returns a created job by id, and null for an unknown id", async () => {
      const job = makeJob();
      await store.create(job);
      expect(await store.get(job.id)).toEqual(job);
      expect(await store.get(randomUUID())).toBeNull();
    });

    it("rejects a second create with the same id with ConflictError", async () => {
      const job = makeJob();
      await store.create(job);
      const err = await rejectionOf(store.create({ ...job, options: { scale: 2 } }));
      expect(isAppError(err)).toBe(true);
      expect(err).toMatchObject({ name: "ConflictError", code: "CONFLICT" });
      expect(await store.get(job.id)).toEqual(job);
    });

    it("applies an update when the status matches, sets updatedAt and keeps other fields", async () => {
      const job = makeJob();
      await store.create(job);
      const startedAt = new Date().toISOString();
      const result = await store.update(job.id, "queued", { status: "running", attempts: 1, startedAt });
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      // Every field but updatedAt is the old job with the patch applied.
      expect({ ...result.job, updatedAt: job.updatedAt }).toEqual({
        ...job,
        status: "running",
        attempts: 1,
        startedAt,
      });
      expect(Date.parse(result.job.updatedAt)).toBeGreaterThan(Date.parse(job.updatedAt));
      expect(await store.get(job.id)).toEqual(result.job);
    });

    it("accepts any of several expected statuses", async () => {
      const job = makeJob();
      await store.create(job);
      const result = await store.update(job.id, ["running", "queued"], { status: "canceled" });
      expect(result).toMatchObject({ ok: true, job: { status: "canceled" } });
    });

    it("reports a conflict with the stored job when the status does not match, and changes nothing", async () => {
      const job = makeJob();
      await store.create(job);
      const result = await store.update(job.id, ["running", "succeeded"], { status: "failed" });
      expect(result).toEqual({ ok: false, reason: "conflict", current: job });
      expect(await store.get(job.id)).toEqual(job);
    });

    it("reports not-found when updating an unknown id", async () => {
      expect(await store.update(randomUUID(), "queued", { status: "running" })).toEqual({
        ok: false,
        reason: "not-found",
      });
    });

    it("lets exactly one of several racing compare-and-sets win", async () => {
      const job = makeJob();
      await store.create(job);
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => store.update(job.id, "queued", { status: "running", attempts: i + 1 })),
      );
      const winners = results.filter((result) => result.ok);
      expect(winners).toHaveLength(1);
      const losers = results.filter((result) => !result.ok);
      for (const loser of losers) expect(loser).toMatchObject({ reason: "conflict", current: { status: "running" } });
      expect(await store.get(job.id)).toEqual(winners[0]?.ok ? winners[0].job : undefined);
    });

    it("applies an update expecting an attempt only while the stored attempts equal it", async () => {
      const job = makeJob();
      await store.create(job);
      await store.update(job.id, "queued", { status: "running", attempts: 1 });
      expect(await store.update(job.id, { status: "running", attempts: 2 }, { progress: 0.5 })).toMatchObject({
        ok: false,
        reason: "conflict",
        current: { status: "running", attempts: 1, progress: 0 },
      });
      expect(await store.update(job.id, { status: "queued", attempts: 1 }, { progress: 0.5 })).toMatchObject({
        ok: false,
        reason: "conflict",
      });
      expect(await store.update(job.id, { status: "running", attempts: 1 }, { progress: 0.5 })).toMatchObject({
        ok: true,
        job: { status: "running", attempts: 1, progress: 0.5 },
      });
    });

    it("lets a newer attempt claim a job running under an older one, and refuses the older run's writes after", async () => {
      const job = makeJob();
      await store.create(job);
      expect(await store.update(job.id, claimable(1), { status: "running", attempts: 1 })).toMatchObject({ ok: true });
      expect(await store.update(job.id, claimable(1), { status: "running", attempts: 1 })).toMatchObject({
        ok: false,
        reason: "conflict",
      });
      expect(await store.update(job.id, claimable(2), { status: "running", attempts: 2 })).toMatchObject({
        ok: true,
        job: { status: "running", attempts: 2 },
      });
      const stale = await store.update(job.id, { status: "running", attempts: 1 }, { status: "succeeded" });
      expect(stale).toMatchObject({ ok: false, reason: "conflict", current: { status: "running", attempts: 2 } });
      expect(await store.update(job.id, claimable(1), { status: "running", attempts: 1 })).toMatchObject({
        ok: false,
        reason: "conflict",
      });
      expect(await store.get(job.id)).toMatchObject({ status: "running", attempts: 2 });
    });

    it("lets exactly one of several racing claims by the same attempt win", async () => {
      const job = makeJob();
      await store.create(job);
      await store.update(job.id, "queued", { status: "running", attempts: 1 });
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store.update(job.id, claimable(2), { status: "running", attempts: 2, progress: i / 10 }),
        ),
      );
      const winners = results.filter((result) => result.ok);
      expect(winners).toHaveLength(1);
      expect(await store.get(job.id)).toEqual(winners[0]?.ok ? winners[0].job : undefined);
    });

    it("applies a write expecting a run id only while that run holds the job, whatever the attempt", async () => {
      const job = makeJob();
      await store.create(job);
      await store.update(job.id, claimable(1), { status: "running", attempts: 1, runId: "run-a" });
      await store.update(job.id, { status: "running", runId: "run-a" }, { status: "queued" });
      // A second message with the same attempt number claims the requeued job as another run.
      expect(
        await store.update(job.id, claimable(1), { status: "running", attempts: 1, runId: "run-b" }),
      ).toMatchObject({ ok: true, job: { status: "running", attempts: 1, runId: "run-b" } });
      const stale = await store.update(job.id, { status: "running", attempts: 1, runId: "run-a" }, { progress: 0.5 });
      expect(stale).toMatchObject({ ok: false, reason: "conflict", current: { attempts: 1, runId: "run-b" } });
      expect(
        await store.update(job.id, { status: "running", attempts: 1, runId: "run-b" }, { progress: 0.5 }),
      ).toMatchObject({ ok: true, job: { progress: 0.5, runId: "run-b" } });
      expect(await store.get(job.id)).toMatchObject({ status: "running", attempts: 1, runId: "run-b", progress: 0.5 });
    });

    it("lists newest first, breaking createdAt ties by id, with status and op filters", async () => {
      const jobs = [
        makeJob({ op: "upscale", createdAtMs: BASE_MS + 1_000 }),
        makeJob({ op: "enhance", createdAtMs: BASE_MS + 3_000 }),
        makeJob({ op: "upscale", createdAtMs: BASE_MS + 2_000 }),
        makeJob({ op: "upscale", createdAtMs: BASE_MS + 2_000 }),
        makeJob({ op: "comic", createdAtMs: BASE_MS }),
      ];
      for (const job of jobs) await store.create(job);
      const [first, , third] = jobs;
      await store.update(first!.id, "queued", { status: "running" });
      await store.update(third!.id, "queued", { status: "running" });

      const all = await store.list({}, { limit: 100 });
      expect(all.jobs.map((job) => job.id)).toEqual(newestFirst(jobs));
      expect(all.nextCursor).toBeNull();
      const upscale = await store.list({ op: "upscale" }, { limit: 100 });
      expect(upscale.jobs.map((job) => job.id)).toEqual(newestFirst(jobs.filter((job) => job.op === "upscale")));
      const running = await store.list({ status: "running", op: "upscale" }, { limit: 100 });
      expect(running.jobs.map((job) => job.id)).toEqual(newestFirst([first!, third!]));
      expect(running.jobs.every((job) => job.status === "running")).toBe(true);
    });

    it("pages through more jobs than the limit with cursors, with no duplicates or gaps", async () => {
      const jobs = Array.from({ length: 23 }, (_, i) =>
        makeJob({ op: i % 3 === 0 ? "enhance" : "upscale", createdAtMs: BASE_MS + Math.floor(i / 2) * 1_000 }),
      );
      for (const job of jobs) await store.create(job);

      const all = await listAll(store, {}, 5);
      expect(all.ids).toEqual(newestFirst(jobs));
      expect(all.pages).toBeGreaterThanOrEqual(5);
      const upscale = await listAll(store, { op: "upscale" }, 4);
      expect(upscale.ids).toEqual(newestFirst(jobs.filter((job) => job.op === "upscale")));
    });

    it("returns an empty last page when nothing matches", async () => {
      await store.create(makeJob({ op: "upscale" }));
      expect(await store.list({ op: "comic" }, { limit: 10 })).toEqual({ jobs: [], nextCursor: null });
    });

    it.each(["not-a-cursor!", "e30", Buffer.from("[1,2]").toString("base64url"), ""])(
      "rejects the cursor %j with INVALID_CURSOR",
      async (cursor) => {
        await store.create(makeJob());
        const err = await rejectionOf(store.list({}, { limit: 10, cursor }));
        expect(isAppError(err)).toBe(true);
        expect(err).toMatchObject({ name: "ValidationError", code: "INVALID_CURSOR" });
      },
    );

    it("deletes a job, and deleting a missing one is not an error", async () => {
      const job = makeJob();
      await store.create(job);
      await store.delete(job.id);
      expect(await store.get(job.id)).toBeNull();
      await store.delete(job.id);
      await store.delete(randomUUID());
      expect((await store.list({}, { limit: 10 })).jobs).toEqual([]);
    });

    it("lists and counts only an owner's jobs when asked", async () => {
      const alice = [makeJob({ owner: "alice" }), makeJob({ owner: "alice", op: "comic" })];
      const bob = makeJob({ owner: "bob" });
      const keyless = makeJob();
      for (const job of [...alice, bob, keyless]) expect(await store.create(job)).toEqual({ created: true });
      expect((await store.list({ owner: "alice" }, { limit: 10 })).jobs.map((job) => job.id).sort()).toEqual(
        alice.map((job) => job.id).sort(),
      );
      expect((await store.list({ owner: "bob" }, { limit: 10 })).jobs).toEqual([bob]);
      expect((await store.list({}, { limit: 10 })).jobs).toHaveLength(4);
      expect(await store.get(keyless.id)).toMatchObject({ owner: null });

      await store.update(alice[0]!.id, "queued", { status: "running" });
      await store.update(bob.id, "queued", { status: "succeeded" });
      expect(await store.count({ statuses: ["queued", "running"], owner: "alice" })).toBe(2);
      expect(await store.count({ statuses: ["queued", "running"], owner: "bob" })).toBe(0);
      expect(await store.count({ statuses: ["queued"], op: "upscale" })).toBe(1);
      expect(await store.count({ statuses: ["queued"], op: "comic", owner: "alice" })).toBe(1);
      expect(await store.count({ statuses: [] })).toBe(0);
    });

    it("keeps one job per owner and idempotency key while the key is unexpired", async () => {
      const first = makeJob({ owner: "alice", idempotency: idempotent("k1") });
      expect(await store.create(first)).toEqual({ created: true });
      const again = makeJob({ owner: "alice", idempotency: idempotent("k1") });
      expect(await store.create(again)).toEqual({ created: false, existing: first });
      expect(await store.get(again.id)).toBeNull();
      expect(await store.findByIdempotencyKey("alice", "k1", new Date())).toEqual(first);

      // Another owner, the keyless owner and another key are separate.
      for (const job of [
        makeJob({ owner: "bob", idempotency: idempotent("k1") }),
        makeJob({ idempotency: idempotent("k1") }),
        makeJob({ owner: "alice", idempotency: idempotent("k2") }),
      ]) {
        expect(await store.create(job)).toEqual({ created: true });
      }
      expect(await store.findByIdempotencyKey(null, "k1", new Date())).toMatchObject({ owner: null });
      expect(await store.findByIdempotencyKey("carol", "k1", new Date())).toBeNull();
    });

    it("lets a new job take an expired idempotency key, or one whose job was deleted", async () => {
      const expired = makeJob({ owner: "alice", idempotency: idempotent("k", -1_000) });
      await store.create(expired);
      expect(await store.findByIdempotencyKey("alice", "k", new Date())).toBeNull();
      const fresh = makeJob({ owner: "alice", idempotency: idempotent("k") });
      expect(await store.create(fresh)).toEqual({ created: true });
      expect(await store.findByIdempotencyKey("alice", "k", new Date())).toEqual(fresh);

      await store.delete(fresh.id);
      expect(await store.findByIdempotencyKey("alice", "k", new Date())).toBeNull();
      expect(await store.create(makeJob({ owner: "alice", idempotency: idempotent("k") }))).toEqual({ created: true });
    });

    it("lets exactly one of several racing creates with the same idempotency key store a job", async () => {
      const jobs = Array.from({ length: 5 }, () => makeJob({ owner: "alice", idempotency: idempotent("race") }));
      const results = await Promise.all(jobs.map((job) => store.create(job)));
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect((await store.list({ owner: "alice" }, { limit: 10 })).jobs).toHaveLength(1);
    });

    it("lists jobs whose webhook is due, longest-due first, as their webhook changes", async () => {
      const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
      const older = makeJob({ webhook: pendingWebhook(at(-2_000)) });
      const newer = makeJob({ webhook: pendingWebhook(at(-1_000)) });
      const later = makeJob({ webhook: pendingWebhook(at(HOUR_MS)) });
      const running = makeJob({ webhook: pendingWebhook(null) });
      const none = makeJob();
      for (const job of [newer, none, later, older, running]) await store.create(job);
      expect((await store.listWebhooksDue(new Date(), 10)).map((job) => job.id)).toEqual([older.id, newer.id]);
      expect((await store.listWebhooksDue(new Date(), 1)).map((job) => job.id)).toEqual([older.id]);

      const delivered = { ...older.webhook!, state: "delivered" as const, nextAttemptAt: null };
      await store.update(older.id, "queued", { webhook: delivered });
      await store.update(running.id, "queued", { status: "succeeded", webhook: pendingWebhook(at(-500)) });
      expect((await store.listWebhooksDue(new Date(), 10)).map((job) => job.id)).toEqual([newer.id, running.id]);
      expect((await store.listWebhooksDue(new Date(Date.now() + 2 * HOUR_MS), 10)).map((job) => job.id)).toEqual([
        newer.id,
        running.id,
        later.id,
      ]);
    });

    it("applies an update expecting a webhook attempt count only while it holds", async () => {
      const job = makeJob({ webhook: pendingWebhook(new Date().toISOString()) });
      await store.create(job);
      const attempt = { at: new Date().toISOString(), status: 500, error: null };
      const first = await store.update(
        job.id,
        { status: "queued", webhookAttempts: 0 },
        {
          webhook: { ...job.webhook!, attempts: [attempt] },
        },
      );
      expect(first).toMatchObject({ ok: true, job: { webhook: { attempts: [attempt] } } });
      expect(
        await store.update(job.id, { status: "queued", webhookAttempts: 0 }, { webhook: job.webhook }),
      ).toMatchObject({ ok: false, reason: "conflict", current: { webhook: { attempts: [attempt] } } });
    });

    it("answers ping", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("shows jobs and updates to another store opened on the same data", async ({ skip }) => {
      if (!fixture.reopen) return skip("the store has no second instance to open");
      const job = makeJob();
      await store.create(job);
      const other = await fixture.reopen();
      expect(await other.get(job.id)).toEqual(job);
      const updated = await other.update(job.id, "queued", { status: "running" });
      expect(updated.ok).toBe(true);
      expect(await store.update(job.id, "queued", { status: "running" })).toMatchObject({
        ok: false,
        reason: "conflict",
      });
    });
  });
}
