import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { isPermanentJobError, parseOptions } from "@imagen/core";
import { patternImage } from "@imagen/testing/images";
import { writeTestModels } from "@imagen/testing/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createModelRegistry, loadManifest } from "@imagen/catalogue";
import { createPipelinePool, type PipelinePool } from "./pipeline-pool.js";
import { createPipelines } from "./pipelines.js";
import { createSessionCache } from "./sessions.js";
import type { RunContext } from "./image-to-image.js";

const LIMITS = { maxInputPixels: 4_000_000, maxOutputPixels: 64_000_000 };
const ENHANCE = parseOptions("enhance", {});

/** The longest gap between timer ticks that should fire every 5 ms while `work` runs. */
async function longestStall(work: Promise<unknown>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 5);
  try {
    await work;
  } finally {
    clearInterval(timer);
  }
  return worst;
}

const idle = (): RunContext => ({ signal: new AbortController().signal, onProgress: () => {} });

describe("createPipelinePool", () => {
  let dir: string;
  let models: Awaited<ReturnType<typeof writeTestModels>>;
  let registry: ReturnType<typeof createModelRegistry>;
  let manifest: Awaited<ReturnType<typeof loadManifest>>;
  const pools: PipelinePool[] = [];
  let sessions: ReturnType<typeof createSessionCache>;
  let pool: PipelinePool;
  let slowInput: Buffer;

  /** A one-thread pool over the test models; `tileSize` decides how long one uninterruptible tile takes. */
  function startPool(tileSize: number, extra: { idleThreadMs?: number; maxTileMs?: number } = {}): PipelinePool {
    const started = createPipelinePool({
      ...extra,
      registry,
      manifest,
      modelDir: models.modelDir,
      executionProvider: "cpu",
      budget: { threads: 1, intraOpThreads: 1 },
      limits: LIMITS,
      tiles: { tileSize, tileOverlap: 4 },
    });
    pools.push(started);
    return started;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "imagen-pool-"));
    // An upscaler whose 31×31×192 convolution makes a 400×300 image cost over a second on one core.
    models = await writeTestModels(dir, { slowUpscale: { channels: 192, kernel: 31 } });
    manifest = await loadManifest(models.manifestPath);
    registry = createModelRegistry({ manifest, modelDir: models.modelDir });
    sessions = createSessionCache({ executionProvider: "cpu", intraOpNumThreads: 1 });
    pool = startPool(128);
    slowInput = await patternImage({ width: 400, height: 300 });
    await pool.warmUp(["upscale", "enhance"]);
  });
  afterAll(async () => {
    await Promise.all([...pools.map((p) => p.close()), sessions.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it("gives the same image as running the pipeline inline, with progress", async () => {
    const inline = createPipelines({ registry, sessions, limits: LIMITS, tiles: { tileSize: 128, tileOverlap: 4 } });
    const input = await patternImage({ width: 64, height: 40 });
    const seen: number[] = [];
    const pooled = await pool.run("enhance", input, ENHANCE, { ...idle(), onProgress: (f) => void seen.push(f) });
    const direct = await inline.run("enhance", input, ENHANCE, idle());
    expect(Buffer.isBuffer(pooled.data)).toBe(true);
    expect(pooled.data.equals(direct.data)).toBe(true);
    expect([pooled.width, pooled.height, pooled.format]).toEqual([direct.width, direct.height, direct.format]);
    expect(seen.at(-1)).toBe(1);
  });

  it("starts a thread again for a job after its idle thread exited", async () => {
    const idling = startPool(128, { idleThreadMs: 100 });
    const input = await patternImage({ width: 64, height: 40 });
    const first = await idling.run("enhance", input, ENHANCE, idle());
    await new Promise((resolve) => setTimeout(resolve, 500));
    const again = await idling.run("enhance", input, ENHANCE, idle());
    expect(again.data.equals(first.data)).toBe(true);
  });

  it("keeps the event loop free while a model runs for seconds", async () => {
    // One tile for the whole image: run inline, the model would block the loop for the whole run.
    const wholeImage = startPool(1024);
    await wholeImage.warmUp(["upscale"]);
    // Twice the slow input's pixels, so that the run lasts well over a second on a fast core too.
    const input = await patternImage({ width: 560, height: 430 });
    const started = performance.now();
    const stall = await longestStall(wholeImage.run("upscale", input, { scale: 4 }, idle()));
    const runMs = performance.now() - started;
    expect(runMs).toBeGreaterThan(1_000);
    // A shared machine may leave the main thread unscheduled for a while; a blocked loop would stall
    // for the whole run.
    expect(stall).toBeLessThan(runMs / 4);
  });

  it("cuts tiles that ran over the time budget: a later job of the model runs in smaller tiles, stitched in place", async () => {
    const budgeted = startPool(1024, { maxTileMs: 300 });
    await budgeted.warmUp(["upscale"]);
    const run = async () => {
      let tiles = 0;
      const result = await budgeted.run(
        "upscale",
        slowInput,
        { scale: 4 },
        { ...idle(), onProgress: () => void tiles++ },
      );
      return { tiles, data: result.data };
    };
    // The whole image fits one 1024 px tile, which takes well over the budget (see beforeAll). The
    // first run of a window shape is not learnt from, the second is.
    const first = await run();
    expect(first.tiles).toBe(1);
    expect((await run()).tiles).toBe(1);
    const cut = await run();
    expect(cut.tiles).toBeGreaterThan(1);
    // The slow model is a plain resize (its convolution weights are zero): this checks where the cores land.
    expect(cut.data.equals(first.data)).toBe(true);
  });

  it("stops a canceled job at its next tile, and the pool runs the next job", async () => {
    const cancel = new AbortController();
    let tiles = 0;
    const running = pool.run(
      "upscale",
      slowInput,
      { scale: 4 },
      {
        signal: cancel.signal,
        onProgress: () => {
          tiles += 1;
          if (tiles === 1) cancel.abort(new Error("canceled by the test"));
        },
      },
    );
    await expect(running).rejects.toThrow("canceled by the test");
    // The thread saw the cancel after the first tile; progress of a second may already be on its way.
    expect(tiles).toBeLessThanOrEqual(2);
    expect((await pool.run("enhance", await patternImage({ width: 16, height: 16 }), ENHANCE, idle())).width).toBe(16);
  });

  it("settles a job canceled inside a long tile at once; the thread finishes the tile, then runs the next job", async () => {
    const wholeImage = startPool(1024);
    await wholeImage.warmUp(["upscale"]);
    const cancel = new AbortController();
    const running = wholeImage.run("upscale", slowInput, { scale: 4 }, { ...idle(), signal: cancel.signal });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const canceledAt = performance.now();
    cancel.abort(new Error("canceled mid-tile"));
    await expect(running).rejects.toThrow("canceled mid-tile");
    // The tile itself runs for over a second; a shared machine may delay the settling a little.
    expect(performance.now() - canceledAt).toBeLessThan(500);
    expect(
      (await wholeImage.run("enhance", await patternImage({ width: 16, height: 16 }), ENHANCE, idle())).width,
    ).toBe(16);
  });

  it("ends the run with the error of a progress write that failed, as an inline run would", async () => {
    const failing = pool.run(
      "upscale",
      slowInput,
      { scale: 4 },
      {
        ...idle(),
        onProgress: () => Promise.reject(new Error("job store unreachable")),
      },
    );
    await expect(failing).rejects.toThrow("job store unreachable");
  });

  it("keeps a permanent error permanent across the thread", async () => {
    const err: unknown = await pool
      .run("upscale", Buffer.from("not an image"), { scale: 4 }, idle())
      .catch((e: unknown) => e);
    expect(isPermanentJobError(err)).toBe(true);
    expect(err).toMatchObject({ code: "UNSUPPORTED_IMAGE" });
  });
});
