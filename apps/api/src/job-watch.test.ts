import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createSqliteJobStore } from "@imagen/backend-local";
import { newJobId, newQueuedJob, type Job, type JobStore } from "@imagen/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createJobWatcher, HINT_EVERY_MS, jobVersion, type JobWatcher } from "./job-watch.js";

describe("job watcher", () => {
  let dir: string;
  let jobs: JobStore;
  let watcher: JobWatcher;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "imagen-watch-"));
    jobs = createSqliteJobStore({ file: path.join(dir, "jobs.db") });
    watcher = createJobWatcher(jobs, { pollIntervalMs: 20 });
  });
  afterEach(async () => {
    await watcher.close();
    await jobs.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function queuedJob(): Promise<Job> {
    const job = newQueuedJob(
      {
        id: newJobId(),
        op: "upscale",
        options: { scale: 4 },
        input: { width: 8, height: 8, format: "png", bytes: 10 },
      },
      new Date(),
    );
    await jobs.create(job);
    return job;
  }

  it("tells versions apart by content even within one millisecond", async () => {
    const job = await queuedJob();
    expect(jobVersion({ ...job, progress: 0.5 })).not.toBe(jobVersion(job));
    expect(jobVersion({ ...job })).toBe(jobVersion(job));
    expect(jobVersion(job)).toMatch(new RegExp(`^${Date.parse(job.updatedAt)}\\.`));
  });

  it("yields each version it reads after the first, none while nothing changes", async () => {
    const job = await queuedJob();
    const stop = new AbortController();
    const changes = watcher.changes(job, stop.signal);
    const next = changes.next();
    await jobs.update(job.id, "queued", { status: "running", attempts: 1 });
    expect((await next).value).toMatchObject({ status: "running" });
    const quiet = await Promise.race([changes.next(), new Promise((resolve) => setTimeout(resolve, 150, "quiet"))]);
    expect(quiet).toBe("quiet");
    stop.abort();
  });

  it("ends a watch when its signal aborts, and when the job is deleted", async () => {
    const job = await queuedJob();
    const stop = new AbortController();
    const aborted = watcher.changes(job, stop.signal).next();
    stop.abort();
    expect(await aborted).toEqual({ done: true, value: undefined });
    const deleted = watcher.changes(job, new AbortController().signal).next();
    await jobs.delete(job.id);
    expect(await deleted).toEqual({ done: true, value: undefined });
  });

  it("waits until the job ends, or gives its latest version when the time runs out", async () => {
    const job = await queuedJob();
    const ended = watcher.untilFinished(job, { timeoutMs: 10_000, signal: new AbortController().signal });
    await jobs.update(job.id, "queued", { status: "canceled", finishedAt: new Date().toISOString() });
    expect(await ended).toMatchObject({ status: "canceled" });

    const other = await queuedJob();
    await jobs.update(other.id, "queued", { status: "running", attempts: 1 });
    const started = Date.now();
    expect(await watcher.untilFinished(other, { timeoutMs: 200, signal: new AbortController().signal })).toMatchObject({
      status: "running",
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("close ends every open watch, and a watch begun after it at once", async () => {
    const job = await queuedJob();
    const waiting = watcher.untilFinished(job, { timeoutMs: 60_000, signal: new AbortController().signal });
    const open = watcher.changes(job, new AbortController().signal).next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await watcher.close();
    expect(await waiting).toEqual(job);
    expect(await open).toEqual({ done: true, value: undefined });
    expect(await watcher.changes(job, new AbortController().signal).next()).toEqual({ done: true, value: undefined });
  });

  describe("with the store's change hints (another connection's commits)", () => {
    // Polls so rare that only a hint can explain a watch seeing a change within the test.
    const RARE_POLL_MS = 600_000;
    const SEEN_WITHIN_MS = 5_000;
    let other: JobStore;
    beforeEach(() => {
      other = createSqliteJobStore({ file: path.join(dir, "jobs.db") });
    });
    afterEach(() => other.close());

    const within = <T>(promise: Promise<T>): Promise<T | "not seen"> =>
      Promise.race([promise, new Promise<"not seen">((resolve) => setTimeout(resolve, SEEN_WITHIN_MS, "not seen"))]);

    it("sees a job finished by another connection at once, not at the next poll", async () => {
      const hinted = createJobWatcher(jobs, { pollIntervalMs: RARE_POLL_MS });
      try {
        const job = await queuedJob();
        const ended = hinted.untilFinished(job, { timeoutMs: RARE_POLL_MS, signal: new AbortController().signal });
        await other.update(job.id, "queued", { status: "canceled", finishedAt: new Date().toISOString() });
        expect(await within(ended)).toMatchObject({ status: "canceled" });
      } finally {
        await hinted.close();
      }
    });

    it("reads again when a hint comes while it is reading, rather than waiting for the poll", async () => {
      const job = await queuedJob();
      let reads = 0;
      const racing: JobStore = {
        ...jobs,
        get: async (id) => {
          const read = await jobs.get(id);
          // The first read returns what it read before the job started, and the start's hint
          // arrives while it has not returned.
          if (++reads === 1) {
            await other.update(job.id, "queued", { status: "running", attempts: 1 });
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          return read;
        },
      };
      const hinted = createJobWatcher(racing, { pollIntervalMs: RARE_POLL_MS });
      const changes = hinted.changes(job, new AbortController().signal);
      try {
        const first = changes.next();
        await other.update(job.id, "queued", { progress: 0.1 });
        expect(await within(first)).toMatchObject({ value: { status: "queued", progress: 0.1 } });
        expect(await within(changes.next())).toMatchObject({ value: { status: "running" } });
      } finally {
        // A watch paused at a yield ends when it is returned (as the event stream does on close).
        await changes.return(undefined);
        await hinted.close();
      }
    });

    it("re-reads at the first hint after a quiet spell, then at most every HINT_EVERY_MS", async () => {
      const job = await queuedJob();
      let reads = 0;
      let hint = () => {};
      const manual: JobStore = {
        ...jobs,
        get: async (id) => {
          reads++;
          return jobs.get(id);
        },
        onChange: (_id, listener) => {
          hint = listener;
          return () => {};
        },
      };
      const hinted = createJobWatcher(manual, { pollIntervalMs: RARE_POLL_MS });
      const stop = new AbortController();
      const watch = hinted.changes(job, stop.signal).next();
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      try {
        hint();
        await sleep(HINT_EVERY_MS / 2);
        expect(reads).toBe(1);
        // A hint every 5 ms for 4 × HINT_EVERY_MS: about 4 reads, not 40.
        const started = performance.now();
        while (performance.now() - started < 4 * HINT_EVERY_MS) {
          hint();
          await sleep(5);
        }
        await sleep(2 * HINT_EVERY_MS);
        expect(reads).toBeGreaterThanOrEqual(2);
        expect(reads).toBeLessThanOrEqual(1 + Math.ceil((performance.now() - started) / HINT_EVERY_MS));
      } finally {
        stop.abort();
        await watch;
        await hinted.close();
      }
    });

    it("listens for its own job while a watch is open, and stops when it ends or the watcher closes", async () => {
      const listening: string[] = [];
      const counting: JobStore = {
        ...jobs,
        onChange: (id, listener) => {
          listening.push(id);
          const stop = jobs.onChange!(id, listener);
          return () => {
            listening.splice(listening.indexOf(id), 1);
            stop();
          };
        },
      };
      const hinted = createJobWatcher(counting, { pollIntervalMs: RARE_POLL_MS });
      const [a, b] = [await queuedJob(), await queuedJob()];
      expect(listening).toEqual([]);
      const stopA = new AbortController();
      const watchA = hinted.changes(a, stopA.signal).next();
      const watchB = hinted.changes(b, new AbortController().signal).next();
      expect(listening.sort()).toEqual([a.id, b.id].sort());
      stopA.abort();
      await watchA;
      expect(listening).toEqual([b.id]);
      await hinted.close();
      await watchB;
      expect(listening).toEqual([]);
    });
  });
});
