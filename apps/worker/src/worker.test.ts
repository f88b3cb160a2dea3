import { inputKey, outputKey } from "@imagen/core";
import type { Pipelines } from "@imagen/imaging";
import { patternImage, truncatedJpeg } from "@imagen/testing/images";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHarness, QUEUE, type Harness } from "../test/harness.js";

const WAIT = { timeout: 15_000, interval: 20 };

async function waitForStatus(h: Harness, id: string, status: string) {
  return vi.waitFor(async () => {
    const job = await h.job(id);
    expect(job.status).toBe(status);
    return job;
  }, WAIT);
}

/** The real pipelines, with `before` run at the start of every attempt. */
function withHook(real: Pipelines, before: (attempt: number) => Promise<void> | void): Pipelines & { calls: number } {
  const wrapped = {
    ...real,
    calls: 0,
    async run(...args: Parameters<Pipelines["run"]>) {
      wrapped.calls += 1;
      await before(wrapped.calls);
      return real.run(...args);
    },
  };
  return wrapped;
}

describe("worker", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("runs an upscale job to success with output, progress and stage timings", async () => {
    await h.startWorker();
    const job = await h.submit("upscale", await patternImage({ width: 96, height: 64 }));
    const done = await waitForStatus(h, job.id, "succeeded");
    expect(done).toMatchObject({ attempts: 1, progress: 1, error: null });
    expect(done.runId).toMatch(/^[0-9a-z]{10}$/);
    const key = outputKey(job.id, { attempt: 1, runId: done.runId! }, "png");
    expect(done.output).toMatchObject({ width: 384, height: 256, format: "png", key });
    expect(done.timings.inferMs).toBeGreaterThanOrEqual(0);
    expect(done.timings.decodeMs).toBeGreaterThanOrEqual(0);
    expect(done.timings.encodeMs).toBeGreaterThanOrEqual(0);
    expect(done.startedAt).not.toBeNull();
    expect(done.finishedAt).not.toBeNull();
    expect(await h.blobs.head(key)).toMatchObject({ sizeBytes: done.output?.bytes });
  });

  it("runs a job stored before today's options existed with today's defaults, and fails one whose options no longer validate", async () => {
    const seen: unknown[] = [];
    const pipelines: Pipelines = {
      ...h.pipelines,
      run: (op, input, options, ctx) => {
        seen.push(options);
        return h.pipelines.run(op, input, options, ctx);
      },
    };
    await h.startWorker({ ops: ["enhance"], pipelines });
    const image = await patternImage({ width: 32, height: 32 });
    // Stored by an older version: enhance had `strength` only, no `mode`.
    const old = await h.submit("enhance", image, {}, { strength: 0.5 });
    expect((await waitForStatus(h, old.id, "succeeded")).error).toBeNull();
    expect(seen).toEqual([{ mode: "auto", strength: 0.5 }]);
    const broken = await h.submit("enhance", image, {}, { mode: "sparkle", strength: 1 });
    const failed = await waitForStatus(h, broken.id, "failed");
    expect(failed.error?.code).toBe("INVALID_OPTIONS");
    expect(failed.attempts).toBe(1);
  });

  it("says which ops it will not run: those it was not configured for", async () => {
    const worker = await h.startWorker({ ops: ["upscale"] });
    expect(worker.opProblem("upscale")).toBeNull();
    expect(worker.opProblem("comic")).toMatch(/does not run comic.*IMAGEN_WORKER_OPS/);
  });

  it("fails a job with an undecodable image at once, without retrying", async () => {
    const pipelines = withHook(h.pipelines, () => {});
    await h.startWorker({ pipelines });
    const job = await h.submit("upscale", await truncatedJpeg({ width: 200, height: 150 }));
    const failed = await waitForStatus(h, job.id, "failed");
    expect(failed.error?.code).toBe("UNSUPPORTED_IMAGE");
    expect(failed.attempts).toBe(1);
    expect(failed.output).toBeNull();
    expect(pipelines.calls).toBe(1);
  });

  it("retries a transient failure and succeeds on the next attempt", async () => {
    await h.startWorker({
      pipelines: withHook(h.pipelines, (call) => {
        if (call === 1) throw new Error("device lost");
      }),
    });
    const job = await h.submit("upscale", await patternImage({ width: 32, height: 32 }));
    const done = await waitForStatus(h, job.id, "succeeded");
    expect(done.attempts).toBe(2);
    expect(done.error).toBeNull();
  });

  it("fails the job with MAX_ATTEMPTS_EXCEEDED when every attempt fails", async () => {
    const pipelines = withHook(h.pipelines, () => {
      throw new Error("device lost");
    });
    await h.startWorker({ pipelines });
    const job = await h.submit("upscale", await patternImage({ width: 32, height: 32 }));
    const failed = await waitForStatus(h, job.id, "failed");
    expect(failed.error?.code).toBe("MAX_ATTEMPTS_EXCEEDED");
    expect(failed.error?.message).toContain(`${QUEUE.maxAttempts} attempts`);
    expect(failed.attempts).toBe(QUEUE.maxAttempts);
    expect(pipelines.calls).toBe(QUEUE.maxAttempts);
  });

  it("stops a job canceled mid-run at its next tile and writes nothing", async () => {
    let tiles = 0;
    let jobId = "";
    const real = h.pipelines;
    const pipelines: Pipelines = {
      ...real,
      run: (op, input, options, ctx) =>
        real.run(op, input, options, {
          ...ctx,
          onProgress: async (fraction) => {
            tiles += 1;
            if (tiles === 1) await h.jobs.update(jobId, "running", { status: "canceled" });
            await ctx.onProgress(fraction);
          },
        }),
    };
    await h.startWorker({ pipelines });
    // 64-px tiles: a 256x256 input is 16 tiles.
    const job = await h.submit("upscale", await patternImage({ width: 256, height: 256 }));
    jobId = job.id;
    await waitForStatus(h, job.id, "canceled");
    await vi.waitFor(() => expect(tiles).toBeGreaterThan(0), WAIT);
    const after = await h.job(job.id);
    expect(after.output).toBeNull();
    expect(tiles).toBeLessThan(16);
    expect(await h.blobs.head(outputKey(job.id, { attempt: 1, runId: after.runId! }, "png"))).toBeNull();
    expect(await h.blobs.head(inputKey(job.id))).not.toBeNull();
  });

  it("acks a redelivered message of a finished job without running it again", async () => {
    const pipelines = withHook(h.pipelines, () => {});
    await h.startWorker({ pipelines });
    const job = await h.submit("upscale", await patternImage({ width: 16, height: 16 }));
    const done = await waitForStatus(h, job.id, "succeeded");
    await h.queue.publish("upscale", { jobId: job.id });
    const marker = await h.submit("upscale", await patternImage({ width: 16, height: 16 }));
    await waitForStatus(h, marker.id, "succeeded");
    expect(pipelines.calls).toBe(2);
    expect(await h.job(job.id)).toEqual(done);
  });

  it("does not consume an op whose model is missing, and says which file", async () => {
    const worker = await h.startWorker({ ops: ["upscale", "enhance"] });
    expect(worker.problems()).toEqual([]);
    const { rm } = await import("node:fs/promises");
    await rm(`${h.models.modelDir}/comic/tiny.onnx`);
    const other = await h.startWorker({ ops: ["comic"] });
    expect(other.problems().join("\n")).toMatch(/comic: .*tiny\.onnx/);
  });
});

describe("worker shutdown", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness({ slowUpscale: true });
  });
  afterEach(async () => {
    await h.close();
  });

  it("hands a job still running at the drain deadline back to the queue, and another worker finishes it", async () => {
    const first = await h.startWorker({ drainTimeoutMs: 0 });
    const job = await h.submit("upscale", await patternImage({ width: 256, height: 256 }));
    await waitForStatus(h, job.id, "running");
    await first.stop();
    const released = await h.job(job.id);
    expect(released.status).toBe("queued");
    await h.startWorker();
    const done = await waitForStatus(h, job.id, "succeeded");
    expect(done.attempts).toBe(2);
    expect(done.output).toMatchObject({ width: 1024, height: 1024 });
  });
});
