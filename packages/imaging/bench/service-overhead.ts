/**
 * Service section, item 1: each op's whole job over HTTP at about 1 MP (multipart POST with
 * `Prefer: wait` to a real API with its embedded worker, answered when the job ends, then the
 * download; a client polling every 20 ms took CPU from the job: a ×4 upscale's ratio measured 1.17–1.20
 * that way against 1.08–1.09 polling every 500 ms) against bare
 * `session.run` of the same models on the same image in another process (service-raw.ts) with the
 * worker's intra-op thread count and nice value (npm start runs its worker at nice 10; the raw side
 * at nice 0 would be favoured over it by whatever else the machine runs). The two sides alternate,
 * rep by rep.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp } from "node:fs/promises";
import { getPriority, setPriority } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { OpName } from "@imagen/core";
import { freePort } from "@imagen/testing/stack";
import { makeInput, spread, type Spread } from "./bench-inputs.js";
import type { RawReply, RawRequest } from "./service-raw.js";
import { API_MAIN, embeddedWorkerPid, runJob, startService, type JobRun } from "./service-stack.js";

export interface ServiceContext {
  dir: string;
  models: string;
  quick: boolean;
  /** The environment the service processes start from (the bench's own). */
  env: Record<string, string | undefined>;
  log(line: string): void;
}

interface OverheadPlan {
  op: OpName;
  photo: string;
  options: Record<string, unknown>;
  darken?: boolean;
  /**
   * Reps (full, quick): a 1 MP ×4 upscale is ~30 s a side on 2 cores; the sub-second ops' single
   * reps swing by 2× on a shared machine, so nine of them give their median.
   */
  reps: [number, number];
}

/** The per-op section's photos and options (bench.ts PLANS), at 1 MP. */
const PLANS: readonly OverheadPlan[] = [
  { op: "upscale", photo: "coffee-600x400.png", options: { scale: 4 }, reps: [2, 1] },
  { op: "enhance", photo: "coffee-600x400.png", options: {}, darken: true, reps: [9, 3] },
  { op: "comic", photo: "cat-chelsea-451x300.png", options: {}, reps: [9, 3] },
  {
    op: "background-removal",
    photo: "portrait-astronaut-512x512.png",
    options: { output: "cutout", background: "#ffffff" },
    reps: [9, 3],
  },
];

export interface OverheadResult {
  op: OpName;
  input: string;
  reps: number;
  intraOpThreads: number;
  /** The nice value of the embedded worker, and so of the raw side. */
  nice: number;
  tileRuns: number;
  wholeRuns: number;
  /** Models whose tiles the whole-image figure replaces with one run (none: both figures run the same tensors). */
  tiledModels: string[];
  serviceMs: Spread;
  /** POST until the poll saw `succeeded`, without the download. */
  serviceDoneMs: Spread;
  tilesMs: Spread;
  wholeMs: Spread;
  /** Per rep, service wall ÷ the raw run next to it. */
  ratioTiles: Spread;
  ratioWhole: Spread;
  /** The job's own stage timings (worker side), medians. */
  jobTimings: Record<string, number>;
}

/** The worker's default intra-op threads (apps/worker/src/config.ts), for the raw side. */
export function workerIntraOpThreads(env: ServiceContext["env"], cores: number, concurrency = 1): number {
  const cpu = Number(env["WORKER_CPU_THREADS"] ?? cores);
  const pool = Number(env["WORKER_POOL_SIZE"] ?? Math.min(concurrency, cpu));
  return Number(env["WORKER_INTRA_OP_THREADS"] ?? Math.max(1, Math.floor(cpu / pool)));
}

function startRaw(
  threads: number,
  nice: number,
  models: string,
): { child: ChildProcess; ask(r: RawRequest): Promise<RawReply> } {
  const script = fileURLToPath(new URL("./service-raw.js", import.meta.url));
  const child = fork(script, [String(threads), models], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  // Set before the process makes its inference threads, which inherit it (as the embedded worker's do).
  setPriority(child.pid!, nice);
  let queue: Promise<unknown> = once(child, "message");
  const ask = (r: RawRequest): Promise<RawReply> => {
    const next = queue.then(async () => {
      child.send(r);
      const [reply] = (await once(child, "message")) as [RawReply];
      if (reply.kind === "error") throw new Error(`raw ${r.kind} ${r.op}: ${reply.message}`);
      return reply;
    });
    queue = next.catch(() => undefined);
    return next;
  };
  return { child, ask };
}

export async function measureOverhead(ctx: ServiceContext, cores: number): Promise<OverheadResult[]> {
  const threads = workerIntraOpThreads(ctx.env, cores);
  const dataDir = await mkdtemp(path.join(ctx.dir, "data-overhead-"));
  const port = await freePort();
  const api = await startService("api+embedded worker", API_MAIN, port, {
    ...ctx.env,
    ...{ IMAGEN_EMBEDDED_WORKER: "true", IMAGEN_BACKEND: "local", IMAGEN_DATA_DIR: dataDir },
    ...{ IMAGEN_MODEL_DIR: ctx.models, PORT: String(port), HOST: "127.0.0.1" },
    // The raw side replays the contracts' tiles; a budget that cut the service's after its first
    // job would compare different plans. Its cost is item 6's.
    WORKER_MAX_TILE_MS: "0",
  });
  const nice = getPriority(await embeddedWorkerPid(api));
  ctx.log(`  ${api.name} ready in ${(api.readyMs / 1000).toFixed(1)} s; its worker and the raw side at nice ${nice}`);
  const raw = startRaw(threads, nice, ctx.models);
  try {
    const inputs = new Map<OpName, string>();
    const prepared = new Map<OpName, Extract<RawReply, { kind: "prepared" }>>();
    for (const plan of PLANS) {
      const input = await makeInput(ctx.dir, plan.photo, 1, plan.darken);
      inputs.set(plan.op, input);
      const reply = await raw.ask({ kind: "prepare", op: plan.op, options: plan.options, inputPath: input });
      if (reply.kind !== "prepared") throw new Error(`raw prepare ${plan.op}: ${reply.kind}`);
      prepared.set(plan.op, reply);
      // The worker warmed its sessions at start; one job at this size warms the rest (upscale: too
      // dear at ~30 s, and its tiles are the shape the warm-up already ran).
      if (plan.op !== "upscale") await runJob(api.url, plan.op, plan.options, input);
    }
    const runs = new Map<OpName, { service: JobRun[]; tiles: number[]; whole: number[] }>();
    const maxReps = Math.max(...PLANS.map((p) => p.reps[ctx.quick ? 1 : 0]));
    for (let rep = 0; rep < maxReps; rep++) {
      for (const plan of PLANS) {
        if (rep >= plan.reps[ctx.quick ? 1 : 0]) continue;
        const entry = runs.get(plan.op) ?? { service: [], tiles: [], whole: [] };
        runs.set(plan.op, entry);
        const service = async (): Promise<void> => {
          entry.service.push(await runJob(api.url, plan.op, plan.options, inputs.get(plan.op)!));
        };
        const bare = async (): Promise<void> => {
          const reply = await raw.ask({ kind: "run", op: plan.op });
          if (reply.kind !== "ran") throw new Error(`raw run ${plan.op}: ${reply.kind}`);
          entry.tiles.push(reply.tilesMs);
          entry.whole.push(reply.wholeMs);
        };
        // Which side goes first alternates, so drift of a shared machine hits both alike.
        if (rep % 2 === 0) await service().then(bare);
        else await bare().then(service);
        const last = entry.service.at(-1)!;
        ctx.log(
          `  ${plan.op} 1 MP rep ${rep + 1}: service ${last.wallMs.toFixed(0)} ms, raw tiles ${entry.tiles.at(-1)!.toFixed(0)} ms, whole ${entry.whole.at(-1)!.toFixed(0)} ms`,
        );
      }
    }
    return PLANS.map((plan) => {
      const r = runs.get(plan.op)!;
      const p = prepared.get(plan.op)!;
      const walls = r.service.map((s) => s.wallMs);
      const timingKeys = Object.keys(r.service[0]!.job.timings);
      return {
        op: plan.op,
        input: path.basename(inputs.get(plan.op)!),
        reps: walls.length,
        intraOpThreads: threads,
        nice,
        ...{ tileRuns: p.tileRuns, wholeRuns: p.wholeRuns, tiledModels: p.tiledModels },
        serviceMs: spread(walls),
        serviceDoneMs: spread(r.service.map((s) => s.doneMs)),
        tilesMs: spread(r.tiles),
        wholeMs: spread(r.whole),
        ratioTiles: spread(walls.map((w, i) => w / r.tiles[i]!)),
        ratioWhole: spread(walls.map((w, i) => w / r.whole[i]!)),
        jobTimings: Object.fromEntries(
          timingKeys.map((k) => [k, Math.round(spread(r.service.map((s) => s.job.timings[k] ?? 0)).median)]),
        ),
      };
    });
  } finally {
    raw.child.disconnect();
    await api.stop();
  }
}
