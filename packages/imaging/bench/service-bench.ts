/**
 * The service section of `npm run bench`: the service-level targets, measured on the real processes
 * (apps/api/dist, apps/worker/dist) on loopback with the repo's models. Items: 1 overhead per op at
 * 1 MP (service-overhead.ts); 2 /healthz p99 during a long upscale, 3 WORKER_CONCURRENCY 2 vs 1,
 * 4 the worker's peak RSS, 5 the API's submit bench (service-load.ts), 6 the tile budget's cancel
 * wait and cost (tile-budget-bench.ts). Prints a targets table.
 */
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { formatSpread, markdownTable, type Spread } from "./bench-inputs.js";
import {
  longJobSizes,
  measureConcurrency,
  measureHealth,
  runSubmitBench,
  type ConcurrencyResult,
  type HealthResult,
  type SubmitBenchResult,
} from "./service-load.js";
import { measureOverhead, type OverheadResult, type ServiceContext } from "./service-overhead.js";
import { API_MAIN, WORKER_MAIN } from "./service-stack.js";
import { measureTileBudget, type TileBudgetResult } from "./tile-budget-bench.js";

export interface TargetRow {
  target: string;
  measured: string;
  goal: string;
  /** Null for a row that reports a cost rather than a target. */
  holds: boolean | null;
  detail: string;
}

export interface ServiceResults {
  overhead: OverheadResult[];
  health: HealthResult[];
  concurrency: ConcurrencyResult;
  submitBench: SubmitBenchResult;
  tileBudget: TileBudgetResult;
  targets: TargetRow[];
  table: string;
  durationMs: number;
}

const OVERHEAD_MAX = 1.15;
const HEALTH_P99_MAX_MS = 50;
const RSS_MAX_MIB = 1024;
// #10: a canceled job stops within one tile or 2 s, whichever is sooner.
const CANCEL_WAIT_MAX_MS = 2_000;

export async function runServiceSection(ctx: ServiceContext): Promise<ServiceResults> {
  for (const main of [API_MAIN, WORKER_MAIN]) {
    if (!existsSync(main)) throw new Error(`No ${main}: build first (npx turbo run build)`);
  }
  const started = performance.now();
  const cores = cpus().length;
  ctx.log("service 1/6: overhead per op at 1 MP (HTTP job vs raw session.run)");
  const overhead = await measureOverhead(ctx, cores);
  const sizes = longJobSizes(ctx.quick);
  const { width, height } = sizes.separate;
  ctx.log(
    `service 2/6 + 4/6: /healthz while a ×4 upscale runs (npm start: ${sizes.embedded.width}×${sizes.embedded.height}, separate: ${width}×${height}), and the worker's peak RSS`,
  );
  const health = await measureHealth(ctx);
  for (const h of health) {
    ctx.log(
      `  ${h.shape}: job ${(h.jobMs / 1000).toFixed(1)} s, worker VmHWM ${h.workerPeakRssMib?.toFixed(0)} MiB (${h.workerReadyPeakRssMib?.toFixed(0)} MiB when ready)`,
    );
  }
  ctx.log("service 3/6: WORKER_CONCURRENCY 2 vs 1");
  const concurrency = await measureConcurrency(ctx);
  ctx.log("service 5/6: submit bench (apps/api)");
  const submitBench = await runSubmitBench(ctx);
  ctx.log(submitBench.ok ? `  ${submitBench.note}:` : `  submit bench: ${submitBench.note}`);
  for (const line of submitBench.lines) ctx.log(`    ${line}`);
  ctx.log("service 6/6: the tile budget, a ×4 upscale canceled mid-run and its cost (pipeline pool)");
  const tileBudget = await measureTileBudget(ctx);
  const targets = [...targetRows(overhead, health, concurrency), ...tileBudgetRows(tileBudget)];
  const table = markdownTable(
    ["target", "measured: median (min–max)", "goal", "holds", "detail"],
    targets.map((t) => [t.target, t.measured, t.goal, t.holds === null ? "—" : t.holds ? "yes" : "NO", t.detail]),
  );
  return {
    ...{ overhead, health, concurrency, submitBench, tileBudget, targets, table },
    durationMs: performance.now() - started,
  };
}

const ms = (s: Spread): string => formatSpread(s, 0);
const ratio = (s: Spread): string => formatSpread(s, 2);

function targetRows(
  overhead: readonly OverheadResult[],
  health: readonly HealthResult[],
  c: ConcurrencyResult,
): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const o of overhead) {
    const base = `${o.input}, ${o.reps} reps, ${o.intraOpThreads} intra-op threads, nice ${o.nice}; service ${ms(o.serviceMs)} ms`;
    const stages = Object.entries(o.jobTimings)
      .map(([k, v]) => `${k.replace(/Ms$/, "")} ${v}`)
      .join(" ");
    rows.push({
      target: `1 overhead ${o.op} 1 MP ÷ Σ pipeline tiles`,
      measured: ratio(o.ratioTiles),
      goal: `≤ ${OVERHEAD_MAX}`,
      holds: o.ratioTiles.median <= OVERHEAD_MAX,
      detail: `${base}; raw ${ms(o.tilesMs)} ms over ${o.tileRuns} session.run; job stages ms: ${stages}`,
    });
    rows.push({
      target: `1 overhead ${o.op} 1 MP ÷ whole image`,
      measured: ratio(o.ratioWhole),
      goal: `≤ ${OVERHEAD_MAX}`,
      holds: o.ratioWhole.median <= OVERHEAD_MAX,
      detail: `raw ${ms(o.wholeMs)} ms over ${o.wholeRuns} session.run (${o.tiledModels.length > 0 ? `whole image for ${o.tiledModels.join(", ")}` : "no model tiled at 1 MP: same runs as the tiles"})`,
    });
  }
  for (const h of health) {
    for (const p of h.probes) {
      rows.push({
        target: `2 /healthz p99, ${h.shape}: ${p.target}`,
        measured: `${p.p99Ms.toFixed(1)} ms`,
        goal: `≤ ${HEALTH_P99_MAX_MS} ms`,
        holds: p.p99Ms <= HEALTH_P99_MAX_MS && p.failures === 0,
        detail: `p50 ${p.p50Ms.toFixed(1)}, max ${p.maxMs.toFixed(0)} ms, ${p.n} probes every 10 ms, ${p.failures} failed, during a ${(h.jobMs / 1000).toFixed(0)} s ×4 upscale of ${h.input}`,
      });
    }
  }
  const [one, two] = [c.byConcurrency["1"], c.byConcurrency["2"]];
  rows.push({
    target: "3 jobs/s WORKER_CONCURRENCY 2 ÷ 1",
    measured: ratio(c.throughputRatio),
    goal: "≥ 1.00",
    holds: c.throughputRatio.median >= 1,
    detail: `${c.rounds} rounds × ${c.jobsPerBatch} enhance jobs (${c.input}); jobs/s c1 ${formatSpread(one.jobsPerS, 2)}, c2 ${formatSpread(two.jobsPerS, 2)}; POST→succeeded per job c1 ${ms(one.latencyMs)} ms, c2 ${ms(two.latencyMs)} ms`,
  });
  rows.push({
    target: "3 per-job run time c2 ÷ c1 (2 cores shared by 2 jobs)",
    measured: ratio(c.runTimeRatio),
    goal: "≤ 2.00",
    holds: c.runTimeRatio.median <= 2,
    detail: `job startedAt→finishedAt c1 ${ms(one.runMs)} ms, c2 ${ms(two.runMs)} ms (c2 runs each job on 1 intra-op thread)`,
  });
  for (const h of health) {
    const mib = h.workerPeakRssMib;
    rows.push({
      target: `4 worker peak RSS, ${h.input} ×4, ${h.shape}`,
      measured: mib === null ? "n/a" : `${mib.toFixed(0)} MiB`,
      goal: `≤ ${RSS_MAX_MIB} MiB`,
      holds: mib !== null && mib <= RSS_MAX_MIB,
      detail: `VmHWM of the worker process (pool threads included) over its life; ${h.workerReadyPeakRssMib?.toFixed(0) ?? "n/a"} MiB already once ready (start-up + warm-up, ${(h.workerReadyMs / 1000).toFixed(1)} s), before the job`,
    });
  }
  return rows;
}

function tileBudgetRows(b: TileBudgetResult): TargetRow[] {
  const base = `${b.input} ×4, one pool thread, ${b.rounds} rounds alternating`;
  return [
    {
      target: `6 cancel wait, WORKER_MAX_TILE_MS=${b.maxTileMs}`,
      measured: `${ms(b.cancelWaitMs.on)} ms`,
      goal: `≤ ${CANCEL_WAIT_MAX_MS} ms`,
      holds: b.cancelWaitMs.on.max <= CANCEL_WAIT_MAX_MS,
      detail: `${base}: cancel → thread free; off (0): ${ms(b.cancelWaitMs.off)} ms`,
    },
    {
      target: "6 job time, tile budget on ÷ off",
      measured: ratio({
        median: b.jobMs.on.median / b.jobMs.off.median,
        min: b.jobMs.on.min / b.jobMs.off.max,
        max: b.jobMs.on.max / b.jobMs.off.min,
        n: b.rounds,
      }),
      goal: "(its cost)",
      holds: null,
      detail: `${base}: on ${ms(b.jobMs.on)} ms in ${b.tiles.on} tiles, off ${ms(b.jobMs.off)} ms in ${b.tiles.off} tiles`,
    },
  ];
}
