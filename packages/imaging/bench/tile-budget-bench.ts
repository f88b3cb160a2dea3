/**
 * Service section, item 6: what the tile budget (`WORKER_MAX_TILE_MS`) buys and costs, on the
 * worker's pipeline pool with the repo's ×4 upscaler on a 976×976 photo, whose contract tiles are
 * four of 504² (about 3 s each on 2 CPU cores): the wait from a cancel until the thread has run a
 * follow-up job (less that job's own time), and the time of a whole job, with the budget at its
 * default and off. Each pool learns its tiles' speed from one job first; the two variants
 * alternate, round by round.
 */
import { readFile } from "node:fs/promises";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { parseOptions } from "@imagen/core";
import { createModelRegistry, createPipelinePool, DEFAULT_MAX_TILE_MS, loadManifest } from "@imagen/imaging";
import { makeInput, spread, type Spread } from "./bench-inputs.js";
import type { ServiceContext } from "./service-overhead.js";

export interface TileBudgetResult {
  input: string;
  rounds: number;
  maxTileMs: number;
  /** Cancel → thread free, ms, budget on / off. */
  cancelWaitMs: { on: Spread; off: Spread };
  /** A whole job once the pool has learnt, ms, budget on / off. */
  jobMs: { on: Spread; off: Spread };
  /** Progress callbacks (one per tile) of the last timed job, on / off. */
  tiles: { on: number; off: number };
}

const idle = () => ({ signal: new AbortController().signal, onProgress: () => undefined });

export async function measureTileBudget(ctx: ServiceContext): Promise<TileBudgetResult> {
  const manifest = await loadManifest(`${ctx.models}/manifest.json`);
  const inputPath = await makeInput(ctx.dir, "portrait-astronaut-512x512.png", 1, false, { width: 976, height: 976 });
  const input = await readFile(inputPath);
  const small = await readFile(await makeInput(ctx.dir, "cat-chelsea-451x300.png", 0.05));
  const upscale = parseOptions("upscale", { scale: 4 });
  const comic = parseOptions("comic", {});
  const rounds = ctx.quick ? 1 : 2;
  const waits = { on: [] as number[], off: [] as number[] };
  const jobs = { on: [] as number[], off: [] as number[] };
  const tiles = { on: 0, off: 0 };
  for (let round = 0; round < rounds; round++) {
    for (const variant of round % 2 ? (["on", "off"] as const) : (["off", "on"] as const)) {
      const pool = createPipelinePool({
        registry: createModelRegistry({ manifest, modelDir: ctx.models }),
        manifest,
        modelDir: ctx.models,
        executionProvider: "cpu",
        budget: { threads: 1, intraOpThreads: cpus().length },
        limits: { maxInputPixels: 40_000_000, maxOutputPixels: 100_000_000 },
        ...(variant === "on" && { maxTileMs: DEFAULT_MAX_TILE_MS }),
      });
      try {
        await pool.warmUp(["upscale", "comic"]);
        await pool.run("upscale", input, upscale, idle());
        let count = 0;
        let t = performance.now();
        await pool.run("upscale", input, upscale, { ...idle(), onProgress: () => void count++ });
        const jobMs = performance.now() - t;
        jobs[variant].push(jobMs);
        tiles[variant] = count;
        // Canceled at a point that moves through the tiles from round to round.
        const cancel = new AbortController();
        const running = pool
          .run("upscale", input, upscale, { ...idle(), signal: cancel.signal })
          .catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, jobMs * (0.3 + 0.2 * round)));
        const canceledAt = performance.now();
        cancel.abort(new Error("canceled by the bench"));
        await running;
        await pool.run("comic", small, comic, idle());
        const freedMs = performance.now() - canceledAt;
        t = performance.now();
        await pool.run("comic", small, comic, idle());
        waits[variant].push(Math.max(0, freedMs - (performance.now() - t)));
        ctx.log(
          `  budget ${variant} round ${round + 1}: job ${jobMs.toFixed(0)} ms in ${count} tiles, cancel wait ${waits[variant].at(-1)!.toFixed(0)} ms`,
        );
      } finally {
        await pool.close();
      }
    }
  }
  return {
    input: inputPath.split("/").at(-1)!,
    rounds,
    maxTileMs: DEFAULT_MAX_TILE_MS,
    cancelWaitMs: { on: spread(waits.on), off: spread(waits.off) },
    jobMs: { on: spread(jobs.on), off: spread(jobs.off) },
    tiles,
  };
}
