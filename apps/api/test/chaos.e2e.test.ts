import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { probeImage } from "@imagen/catalogue";
import { patternImage, type FixtureFormat } from "@imagen/testing/images";
import { writeTestModels } from "@imagen/testing/stack";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { JobBody } from "./job-client.js";
import {
  API_MAIN,
  freePort,
  reportOutput,
  startProcess,
  stopProcess,
  waitUntilReady,
  WORKER_MAIN,
  type Running,
} from "./processes.js";

const built = existsSync(API_MAIN) && existsSync(WORKER_MAIN);

// Each request is submitted twice under two Idempotency-Keys: both jobs must give the same pixels.
const REQUESTS = 60;
const JOBS = REQUESTS * 2;
const WORKER_KILLS = 6;
// Short leases, so that a killed worker's jobs come back within seconds; small backoffs likewise.
// A kill costs a job at most one attempt, so the kills alone cannot use up its attempts.
const QUEUE_ENV = {
  QUEUE_LEASE_MS: "1500",
  QUEUE_MAX_ATTEMPTS: String(WORKER_KILLS + 2),
  QUEUE_POLL_INTERVAL_MS: "50",
  QUEUE_BACKOFF_BASE_MS: "100",
  QUEUE_BACKOFF_MAX_MS: "1000",
};
// Every op and option the tiny test models run, each with an explicit format so the result's is known.
const SPECS: { op: string; options: Record<string, unknown>; scale: number }[] = [
  { op: "upscale", options: { scale: 4, format: "png" }, scale: 4 },
  { op: "upscale", options: { scale: 2, format: "webp" }, scale: 2 },
  { op: "upscale", options: { scale: 3, format: "jpeg" }, scale: 3 },
  { op: "enhance", options: { mode: "auto", format: "png" }, scale: 1 },
  { op: "enhance", options: { mode: "low-light", format: "jpeg" }, scale: 1 },
  { op: "enhance", options: { mode: "denoise", format: "webp" }, scale: 1 },
  { op: "comic", options: { format: "png" }, scale: 1 },
  { op: "background-removal", options: { output: "cutout", format: "png" }, scale: 1 },
  { op: "background-removal", options: { output: "mask", format: "webp" }, scale: 1 },
  { op: "background-removal", options: { output: "color", background: "#336699", format: "jpeg" }, scale: 1 },
];

interface Request {
  op: string;
  options: Record<string, unknown>;
  file: Buffer;
  filename: string;
  expected: { width: number; height: number; format: string };
}

/** A job as `GET /v1/jobs/:id` returns it, with the output's format. */
type ChaosJob = Omit<JobBody, "output"> & {
  output: { width: number; height: number; format: string; bytes: number; url: string } | null;
};

interface Submitted {
  id: string;
  request: number;
  expected: Request["expected"];
}

/** Request `n`: a size of its own, so that a result delivered for the wrong job has the wrong size. */
async function requestOf(n: number): Promise<Request> {
  const spec = SPECS[n % SPECS.length]!;
  const width = 40 + n * 4;
  const height = 24 + ((n * 7) % 97);
  const format: FixtureFormat = n % 3 === 0 ? "jpeg" : "png";
  return {
    op: spec.op,
    options: spec.options,
    file: await patternImage({ width, height, format }),
    filename: `photo.${format}`,
    expected: { width: width * spec.scale, height: height * spec.scale, format: String(spec.options.format) },
  };
}

/** A seeded PRNG (mulberry32), so that the seed printed with the counts replays the same choices. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every job the API lists, polled until `stop()`; the view goes stale while the API is down. */
function watchJobs(base: string) {
  const seen = new Map<string, ChaosJob>();
  let stopped = false;
  async function poll(): Promise<void> {
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "limit=100" : `limit=100&cursor=${encodeURIComponent(cursor)}`;
      const page = (await (await fetch(`${base}/v1/jobs?${query}`)).json()) as {
        jobs: ChaosJob[];
        nextCursor: string | null;
      };
      for (const job of page.jobs) seen.set(job.id, job);
      cursor = page.nextCursor;
    } while (cursor !== null);
  }
  const loop = (async () => {
    while (!stopped) {
      await poll().catch(() => undefined);
      await sleep(100);
    }
  })();
  return {
    seen,
    isOpen: (id: string) => ["queued", "running", undefined].includes(seen.get(id)?.status),
    async stop(): Promise<void> {
      stopped = true;
      await loop;
    },
  };
}

/**
 * Posts `request` with `key` until the API answers 202 (new) or 200 (replayed): a request cut off
 * by the API's death is sent again with the same key, so it names one job, never two.
 */
async function submitUntilAccepted(
  base: string,
  request: Request,
  key: string,
  apiRestarted: () => Promise<void>,
): Promise<{ job: ChaosJob; tries: number; replayed: boolean }> {
  for (let tries = 1; tries <= 300; tries++) {
    await apiRestarted();
    const form = new FormData();
    form.set("op", request.op);
    form.set("options", JSON.stringify(request.options));
    form.set("file", new Blob([request.file]), request.filename);
    const headers = { "idempotency-key": key };
    const res = await fetch(`${base}/v1/jobs`, { method: "POST", body: form, headers }).catch(() => null);
    if (res === null || res.status === 503) {
      await sleep(100);
      continue;
    }
    if (res.status !== 200 && res.status !== 202) throw new Error(`POST /v1/jobs: ${res.status} ${await res.text()}`);
    return { job: (await res.json()) as ChaosJob, tries, replayed: res.status === 200 };
  }
  throw new Error(`POST /v1/jobs with key ${key} was not accepted after 300 tries`);
}

/**
 * What is wrong with a job's result, or null: its status, header, size, format and length, and
 * its bytes against its twin's (the same request's other job, run by another attempt or worker).
 */
async function resultProblem(
  base: string,
  submitted: Submitted,
  job: ChaosJob,
  twins: Map<number, Buffer>,
): Promise<string | null> {
  const res = await fetch(`${base}/v1/jobs/${submitted.id}/result`);
  const body = Buffer.from(await res.arrayBuffer());
  const image = await probeImage(body, { maxInputPixels: 1e8 }).catch(() => null);
  const got = { width: image?.width, height: image?.height, format: image?.format, bytes: body.length };
  const expected = JSON.stringify({ ...submitted.expected, bytes: job.output?.bytes });
  const view = job.output && { width: job.output.width, height: job.output.height, format: job.output.format };
  if (
    res.status !== 200 ||
    res.headers.get("content-type") !== `image/${submitted.expected.format}` ||
    JSON.stringify(got) !== expected ||
    JSON.stringify(view) !== JSON.stringify(submitted.expected)
  ) {
    return `${submitted.id}: expected ${expected} but received ${res.status} ${JSON.stringify(got)}, job says ${JSON.stringify(view)}`;
  }
  const twin = twins.get(submitted.request);
  if (!twin) twins.set(submitted.request, body);
  // The pipelines are deterministic, so a torn or mixed-up write shows as a difference.
  return !twin || twin.equals(body) ? null : `${submitted.id}: ${body.length} bytes unlike its twin's ${twin.length}`;
}

interface WorkerSlot {
  proc: Running | undefined;
  /** From its process's /readyz answering 200 until the test SIGKILLs it. */
  ready: boolean;
}

// The built API and two standalone workers on one data dir, as separate processes: the workers are
// SIGKILLed at random points of the run and restarted at once, the API once while jobs are submitted.
describe.runIf(built)("chaos: SIGKILLed workers and API", () => {
  let dir: string;
  const running: Running[] = [];
  afterEach(async ({ task }) => {
    reportOutput(task.result?.state === "fail", running);
    for (const proc of running.splice(0)) await stopProcess(proc, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  it("loses no job, leaves none stuck and writes no wrong result", { timeout: 240_000 }, async () => {
    const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const rand = random(seed);
    const startedMs = performance.now();
    dir = await mkdtemp(path.join(tmpdir(), "imagen-chaos-"));
    const models = await writeTestModels(dir);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      ...QUEUE_ENV,
      HOST: "127.0.0.1",
      PORT: String(port),
      IMAGEN_DATA_DIR: path.join(dir, "data"),
      IMAGEN_MODEL_DIR: models.modelDir,
      IMAGEN_MODEL_MANIFEST: models.manifestPath,
      // The test polls the job list ten times a second.
      RATE_LIMIT_PER_MIN: "0",
    };
    const start = (main: string, extra: Record<string, string> = {}) => {
      const proc = startProcess(main, { ...env, ...extra });
      running.push(proc);
      return proc;
    };
    let api = start(API_MAIN);
    await waitUntilReady(`${base}/readyz`, api);
    const workers: WorkerSlot[] = [0, 1].map(() => ({ proc: undefined, ready: false }));
    const restartProblems: unknown[] = [];
    async function startWorker(slot: WorkerSlot): Promise<void> {
      const workerPort = String(await freePort());
      slot.proc = start(WORKER_MAIN, {
        WORKER_HOST: "127.0.0.1",
        WORKER_PORT: workerPort,
        WORKER_CONCURRENCY: "2",
        WORKER_PROGRESS_INTERVAL_MS: "0",
      });
      await waitUntilReady(`http://127.0.0.1:${workerPort}/readyz`, slot.proc);
      slot.ready = true;
    }
    await Promise.all(workers.map(startWorker));
    const watch = watchJobs(base);
    const counts = { workerKills: 0, killsWithJobsOpen: 0, apiKills: 0, resent: 0, replayed: 0 };

    // Submissions, four at a time, in random order; the API is SIGKILLed once among them.
    const submitted: Submitted[] = [];
    const open = () => submitted.filter((s) => watch.isOpen(s.id)).length;
    let apiRestart: Promise<void> = Promise.resolve();
    async function killApi(): Promise<void> {
      await stopProcess(api, "SIGKILL");
      counts.apiKills += 1;
      api = start(API_MAIN);
      await waitUntilReady(`${base}/readyz`, api);
    }
    const order = Array.from({ length: JOBS }, (_, i) => i).sort(() => rand() - 0.5);
    const apiKillAt = Math.floor(JOBS * (0.3 + rand() * 0.3));
    let next = 0;
    const submitting = Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (next < order.length) {
          const i = order[next++]!;
          if (next === apiKillAt) apiRestart = killApi();
          const request = i >> 1;
          const key = `chaos-${seed}-${i}`;
          const body = await requestOf(request);
          const result = await submitUntilAccepted(base, body, key, () => apiRestart);
          counts.resent += result.tries - 1;
          if (result.replayed) counts.replayed += 1;
          submitted.push({ id: result.job.id, request, expected: body.expected });
        }
      }),
    );

    // Worker kills at random points of the run, each while jobs are open; the worker restarts at once.
    for (let k = 0; k < WORKER_KILLS; k++) {
      const point = ((k + 0.2 + rand() * 0.6) / (WORKER_KILLS + 1)) * JOBS;
      const delayMs = rand() * 300;
      // Workers drain the queue while the API restarts, so a kill waits for jobs to be open again.
      for (;;) {
        await vi.waitFor(
          () => {
            if (submitted.length - open() < point) throw new Error(`kill ${k + 1}: waiting for ${point} jobs to end`);
            if (!workers.some((w) => w.ready)) throw new Error(`kill ${k + 1}: waiting for a ready worker`);
            if (open() === 0) throw new Error(`kill ${k + 1}: waiting for an open job`);
          },
          { timeout: 120_000, interval: 20 },
        );
        await sleep(delayMs);
        if (open() > 0 && workers.some((w) => w.ready)) break;
      }
      const ready = workers.filter((w) => w.ready);
      const victim = ready[Math.floor(rand() * ready.length)]!;
      if (open() > 0) counts.killsWithJobsOpen += 1;
      victim.ready = false;
      await stopProcess(victim.proc!, "SIGKILL");
      counts.workerKills += 1;
      startWorker(victim).catch((err: unknown) => restartProblems.push(err));
    }
    await submitting;
    // Once the kills stop, every job ends within a lease and a few retries; what does not is stuck.
    await vi
      .waitFor(
        () => {
          if (open() > 0) throw new Error(`${open()} jobs open`);
        },
        { timeout: 60_000, interval: 100 },
      )
      .catch(() => undefined);
    await watch.stop();

    // Every job read back on its own, then its result.
    const jobs = await Promise.all(
      submitted.map(async (s) => {
        const res = await fetch(`${base}/v1/jobs/${s.id}`);
        return { s, status: res.status, job: (await res.json()) as ChaosJob };
      }),
    );
    const lost = jobs.filter(({ status }) => status !== 200).map(({ s }) => s.id);
    const stuck = jobs.filter(({ job }) => job.status === "queued" || job.status === "running").map(({ s }) => s.id);
    const unsucceeded = jobs
      .filter(({ status, job }) => status === 200 && job.status !== "succeeded")
      .map(({ s, job }) => `${s.id}: ${job.status} ${JSON.stringify(job.error)}`);
    const wrong: string[] = [];
    const twins = new Map<number, Buffer>();
    for (const { s, job } of jobs.filter(({ job }) => job.status === "succeeded")) {
      const problem = await resultProblem(base, s, job, twins);
      if (problem) wrong.push(problem);
    }
    const attempts = jobs.map(({ job }) => job.attempts);
    console.log(
      `chaos (seed ${seed}): ${submitted.length} jobs, ${counts.workerKills} worker kills ` +
        `(${counts.killsWithJobsOpen} with jobs open), ${counts.apiKills} API kill, ${counts.resent} submissions resent ` +
        `(${counts.replayed} replayed), ${attempts.filter((a) => a > 1).length} jobs redelivered (max attempts ` +
        `${Math.max(...attempts)}); lost ${lost.length}, stuck ${stuck.length}, not succeeded ${unsucceeded.length}, ` +
        `wrong ${wrong.length}; ${Math.round((performance.now() - startedMs) / 1000)} s`,
    );
    expect(restartProblems).toEqual([]);
    expect(counts).toMatchObject({ workerKills: WORKER_KILLS, killsWithJobsOpen: WORKER_KILLS, apiKills: 1 });
    expect(new Set(submitted.map((s) => s.id)).size).toBe(JOBS);
    // The API lists exactly the submitted jobs: no resent submission made a second one.
    expect([...watch.seen.keys()].sort()).toEqual(submitted.map((s) => s.id).sort());
    expect({ lost, stuck, unsucceeded, wrong }).toEqual({ lost: [], stuck: [], unsucceeded: [], wrong: [] });
    // At least one kill hit a running job, which then ran again.
    expect(Math.max(...attempts)).toBeGreaterThan(1);
  });
});
