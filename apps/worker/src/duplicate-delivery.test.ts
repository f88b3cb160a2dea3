import { readdir, readFile } from "node:fs/promises";
import * as path from "node:path";
import { createFsBlobStore, createSqliteJobQueue, createSqliteJobStore } from "@imagen/backend-local";
import { createLogger, outputKey, type Job } from "@imagen/core";
import type { Pipelines } from "@imagen/imaging";
import { patternImage } from "@imagen/testing/images";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHarness, QUEUE, type Harness } from "../test/harness.js";
import { createWorkerMetrics } from "./metrics.js";
import { createJobProcessor } from "./process-job.js";
import { createWorker } from "./worker.js";

const WAIT = { timeout: 15_000, interval: 20 };
/** The stale process's lease: short, so that the redelivery comes soon after it stops renewing. */
const STALE_LEASE_MS = 300;

/** What a gated run does once its gate opens. */
type AfterGate = "run" | "run-without-progress" | "fail";

interface Gate {
  pipelines: Pipelines;
  /** Resolves when the run reaches the gate, that is once its attempt has claimed the job. */
  entered: Promise<void>;
  open(): void;
}

/** The real pipelines behind a gate: a run waits there until `open`, as a slow or paused process would. */
function gated(real: Pipelines, after: AfterGate): Gate {
  let enter = () => {};
  let open = () => {};
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  const pipelines: Pipelines = {
    ...real,
    async run(op, input, options, ctx) {
      enter();
      await opened;
      if (after === "fail") throw new Error("device lost");
      return real.run(op, input, options, after === "run" ? ctx : { ...ctx, onProgress: async () => {} });
    },
  };
  return { pipelines, entered, open };
}

/**
 * A second worker process on the harness's data directory, with its own SQLite connections. `stall`
 * stops its queue as a process that hangs would: the lease is no longer renewed, so the message is
 * redelivered, while the job handler already running goes on and resumes later.
 */
async function startStaleProcess(h: Harness, pipelines: Pipelines) {
  const dataDir = path.join(h.dir, "data");
  const file = path.join(dataDir, "imagen.db");
  const log = createLogger({ service: "stale-worker-test", level: "silent" });
  const queue = createSqliteJobQueue({ file, ...QUEUE, leaseMs: STALE_LEASE_MS, log });
  const jobs = createSqliteJobStore({ file });
  const blobs = createFsBlobStore({ root: path.join(dataDir, "blobs") });
  const registry = new Registry();
  const worker = createWorker(
    { jobs, queue, blobs, pipelines, metrics: createWorkerMetrics(registry), log },
    { ops: ["upscale"], concurrency: 1, drainTimeoutMs: 0, progressIntervalMs: 0 },
  );
  await worker.start();
  return {
    stall: () => queue.abandon(),
    /** How many of this process's job attempts ended with `outcome`. */
    async outcomes(outcome: string): Promise<number> {
      const metric = await registry.getSingleMetric("worker_jobs_total")?.get();
      return metric?.values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
    },
    async close() {
      await worker.stop();
      await queue.close();
      await jobs.close();
    },
  };
}

type StaleProcess = Awaited<ReturnType<typeof startStaleProcess>>;

/** The files under the job's output prefix, one per run that left a blob. */
async function outputFiles(h: Harness, jobId: string): Promise<string[]> {
  const dir = path.join(h.dir, "data", "blobs", "outputs", jobId);
  return readdir(dir).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  });
}

async function waitForJob(h: Harness, id: string, expected: Partial<Job>): Promise<Job> {
  return vi.waitFor(async () => {
    const job = await h.job(id);
    expect(job).toMatchObject(expected);
    return job;
  }, WAIT);
}

describe("duplicate delivery", () => {
  let h: Harness;
  let stale: StaleProcess | undefined;
  const gates: Gate[] = [];
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(async () => {
    for (const gate of gates.splice(0)) gate.open();
    await stale?.close();
    stale = undefined;
    await h.close();
  });

  /** The output key of the run that finished `job`. */
  function keyOf(job: Job): string {
    return outputKey(job.id, { attempt: job.attempts, runId: job.runId ?? "" }, "png");
  }

  /** Attempt 1 claims the job in the stale process and stalls; attempt 2 is redelivered to a live worker. */
  async function redeliverWhileStaleRunIsAlive(staleAfter: AfterGate) {
    const first = gated(h.pipelines, staleAfter);
    const second = gated(h.pipelines, "run");
    gates.push(first, second);
    stale = await startStaleProcess(h, first.pipelines);
    const job = await h.submit("upscale", await patternImage({ width: 128, height: 128 }));
    await first.entered;
    expect(await h.job(job.id)).toMatchObject({ status: "running", attempts: 1 });
    await stale.stall();
    await h.startWorker({ pipelines: second.pipelines });
    await second.entered;
    expect(await h.job(job.id)).toMatchObject({ status: "running", attempts: 2 });
    return { job, first, second, staleProcess: stale };
  }

  it("keeps the result of the redelivery when the stale run resumes after it: the stale run writes and deletes only its own blob", async () => {
    const { job, first, second, staleProcess } = await redeliverWhileStaleRunIsAlive("run-without-progress");
    second.open();
    const done = await waitForJob(h, job.id, { status: "succeeded", attempts: 2 });
    expect(done.output?.key).toBe(keyOf(done));
    const resultPath = path.join(h.dir, "data", "blobs", keyOf(done));
    const result = await readFile(resultPath);

    first.open();
    await vi.waitFor(async () => expect(await staleProcess.outcomes("superseded")).toBe(1), WAIT);
    expect(await staleProcess.outcomes("succeeded")).toBe(0);
    expect(await h.job(job.id)).toEqual(done);
    expect(await outputFiles(h, job.id)).toEqual([path.basename(keyOf(done))]);
    expect((await readFile(resultPath)).equals(result)).toBe(true);
    expect(await h.blobs.head(done.output?.key ?? "")).toMatchObject({ sizeBytes: done.output?.bytes });
  });

  it.each<[string, AfterGate]>([
    ["reports progress", "run"],
    ["fails with a retryable error", "fail"],
  ])(
    "refuses a stale run that %s while the redelivery is still running, and lets the redelivery finish",
    async (_, staleAfter) => {
      const { job, first, second, staleProcess } = await redeliverWhileStaleRunIsAlive(staleAfter);
      const claimed = await h.job(job.id);
      first.open();
      await vi.waitFor(async () => expect(await staleProcess.outcomes("superseded")).toBe(1), WAIT);
      expect(await h.job(job.id)).toEqual(claimed);
      expect(await outputFiles(h, job.id)).toEqual([]);

      second.open();
      const done = await waitForJob(h, job.id, { status: "succeeded", attempts: 2, error: null });
      expect(done.output?.key).toBe(keyOf(done));
      expect(await outputFiles(h, job.id)).toEqual([path.basename(keyOf(done))]);
      expect(await staleProcess.outcomes("succeeded")).toBe(0);
      expect(await staleProcess.outcomes("retried")).toBe(0);
    },
  );

  it("refuses a stale run when a message published twice brings its attempt number back: the run id tells them apart", async () => {
    const registry = new Registry();
    const log = createLogger({ service: "worker-test", level: "silent" });
    const metrics = createWorkerMetrics(registry);
    const deliver = (gate: Gate, attempt: number) =>
      createJobProcessor({
        jobs: h.jobs,
        blobs: h.blobs,
        pipelines: gate.pipelines,
        metrics,
        log,
        progressIntervalMs: 0,
      })({ jobId: job.id, attempt }, new AbortController().signal);
    const staleGate = gated(h.pipelines, "run-without-progress");
    const failingGate = gated(h.pipelines, "fail");
    const duplicateGate = gated(h.pipelines, "run");
    gates.push(staleGate, failingGate, duplicateGate);
    // No worker consumes the queue: each delivery below is handed to a processor directly.
    const job = await h.submit("upscale", await patternImage({ width: 128, height: 128 }));

    const staleRun = deliver(staleGate, 1);
    await staleGate.entered;
    const stale = await h.job(job.id);
    expect(stale).toMatchObject({ status: "running", attempts: 1 });
    // The redelivery takes over, fails with a retryable error and hands the job back.
    failingGate.open();
    await expect(deliver(failingGate, 2)).rejects.toThrow("device lost");
    expect(await h.job(job.id)).toMatchObject({ status: "queued", attempts: 2 });
    // The job's message, published a second time, arrives with attempt 1 again and claims it.
    const duplicateRun = deliver(duplicateGate, 1);
    await duplicateGate.entered;
    const claimed = await h.job(job.id);
    expect(claimed).toMatchObject({ status: "running", attempts: 1 });
    expect(claimed.runId).not.toBe(stale.runId);

    staleGate.open();
    await staleRun;
    expect(await h.job(job.id)).toEqual(claimed);
    expect(await outputFiles(h, job.id)).toEqual([]);
    duplicateGate.open();
    await duplicateRun;
    const done = await h.job(job.id);
    expect(done).toMatchObject({ status: "succeeded", attempts: 1, runId: claimed.runId, error: null });
    expect(done.output?.key).toBe(keyOf(done));
    expect(await outputFiles(h, job.id)).toEqual([path.basename(keyOf(done))]);
    const outcomes = (await registry.getSingleMetric("worker_jobs_total")?.get())?.values ?? [];
    const count = (outcome: string) => outcomes.find((value) => value.labels.outcome === outcome)?.value ?? 0;
    expect([count("superseded"), count("retried"), count("succeeded")]).toEqual([1, 1, 1]);
  });
});
