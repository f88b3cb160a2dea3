/**
 * Service section, items 2–5: /healthz latency while a long upscale runs (`npm start` shape and
 * separate processes), the same run's peak RSS of the worker process, WORKER_CONCURRENCY 2 against 1
 * on the same batch, and the API's submit bench (apps/api/bench) as a child step.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import * as path from "node:path";
import { promisify } from "node:util";
import { freePort } from "@imagen/testing/stack";
import { REPO_ROOT, makeInput, quantile, spread, median, type Spread } from "./bench-inputs.js";
import type { ServiceContext } from "./service-overhead.js";
import {
  API_MAIN,
  WORKER_MAIN,
  embeddedWorkerPid,
  peakRssMib,
  probeHealth,
  runJob,
  startService,
  type ServiceProcess,
} from "./service-stack.js";

/**
 * The long jobs: `npm start` shape, an upscale of about 30 s on 2 cores (1448×1086 ×4: 1024×768
 * took 16 s by now); separate processes, 2048×1536 ×4 with the default model, which is also item
 * 4's job. `--quick`: 800×600.
 */
export function longJobSizes(quick: boolean): Record<"embedded" | "separate", { width: number; height: number }> {
  const small = quick ? { width: 800, height: 600 } : { width: 1448, height: 1086 };
  return { embedded: small, separate: quick ? small : { width: 2048, height: 1536 } };
}

export interface ProbeStats {
  target: string;
  n: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface HealthResult {
  shape: "npm start (embedded worker)" | "separate processes";
  input: string;
  jobMs: number;
  jobTimings: Record<string, number | undefined>;
  probes: ProbeStats[];
  /** VmHWM of the worker process (the embedded worker's child process, or the standalone worker). */
  workerPeakRssMib: number | null;
  /** The same, read once the worker was ready and before the job: start-up and warm-up alone. */
  workerReadyPeakRssMib: number | null;
  /** Spawn to /readyz 200 of the process that runs the worker. */
  workerReadyMs: number;
}

function stack(
  ctx: ServiceContext,
  dataDir: string,
  extra: Record<string, string>,
): Record<string, string | undefined> {
  return {
    ...ctx.env,
    ...{ IMAGEN_BACKEND: "local", IMAGEN_DATA_DIR: dataDir, IMAGEN_MODEL_DIR: ctx.models, HOST: "127.0.0.1" },
    ...extra,
  };
}

/** An API and a worker as separate processes on a fresh data dir; `workerEnv` adds to the worker's (and the API's) env. */
async function startSeparateStack(
  ctx: ServiceContext,
  name: string,
  workerEnv: Record<string, string>,
): Promise<{ api: ServiceProcess; worker: ServiceProcess }> {
  const dataDir = await mkdtemp(path.join(ctx.dir, `data-${name}-`));
  const [apiPort, workerPort] = [await freePort(), await freePort()];
  const env = stack(ctx, dataDir, { WORKER_PORT: String(workerPort), WORKER_HOST: "127.0.0.1", ...workerEnv });
  const worker = await startService(`worker ${name}`, WORKER_MAIN, workerPort, env);
  const api = await startService(`api ${name}`, API_MAIN, apiPort, {
    ...env,
    IMAGEN_EMBEDDED_WORKER: "false",
    PORT: String(apiPort),
  });
  return { api, worker };
}

/** Probes every target's /healthz every 10 ms while one long upscale runs; then reads the worker's VmHWM. */
async function probeDuringJob(
  ctx: ServiceContext,
  api: ServiceProcess,
  targets: readonly { name: string; url: string }[],
  workerPid: number,
  inputPath: string,
): Promise<Omit<HealthResult, "shape" | "input" | "workerReadyMs">> {
  const workerReadyPeakRssMib = await peakRssMib(workerPid);
  const probes = targets.map((t) => ({ ...t, probe: probeHealth(t.url, 10) }));
  // A slower poll than item 1's: the job takes a minute or more, and the prober shares this loop.
  const run = await runJob(api.url, "upscale", { scale: 4 }, inputPath, 200);
  const stats: ProbeStats[] = [];
  for (const p of probes) {
    const { latenciesMs, failures } = await p.probe.stop();
    stats.push({
      target: p.name,
      n: latenciesMs.length,
      failures,
      p50Ms: quantile(latenciesMs, 0.5),
      p99Ms: quantile(latenciesMs, 0.99),
      maxMs: Math.max(...latenciesMs),
    });
  }
  return {
    jobMs: run.wallMs,
    jobTimings: run.job.timings,
    probes: stats,
    workerPeakRssMib: await peakRssMib(workerPid),
    workerReadyPeakRssMib,
  };
}

export async function measureHealth(ctx: ServiceContext): Promise<HealthResult[]> {
  const sizes = longJobSizes(ctx.quick);
  const small = await makeInput(ctx.dir, "coffee-600x400.png", 0, false, sizes.embedded);
  const large = await makeInput(ctx.dir, "coffee-600x400.png", 0, false, sizes.separate);
  const results: HealthResult[] = [];
  {
    const dataDir = await mkdtemp(path.join(ctx.dir, "data-health-a-"));
    const port = await freePort();
    const api = await startService(
      "api+embedded worker",
      API_MAIN,
      port,
      stack(ctx, dataDir, { IMAGEN_EMBEDDED_WORKER: "true", PORT: String(port) }),
    );
    try {
      const workerPid = await embeddedWorkerPid(api);
      const targets = [{ name: "API /healthz", url: api.url }];
      // The embedded worker's health server listens on an ephemeral port; its log line names it.
      const listening = await api
        .waitForLine(/imagen-worker.*Server listening at (http:\/\/127\.0\.0\.1:\d+)/, 2_000)
        .catch(() => null);
      if (listening?.[1]) targets.push({ name: "embedded worker /healthz", url: listening[1] });
      const r = await probeDuringJob(ctx, api, targets, workerPid, small);
      results.push({
        shape: "npm start (embedded worker)",
        input: path.basename(small),
        workerReadyMs: api.readyMs,
        ...r,
      });
    } finally {
      await api.stop();
    }
  }
  {
    // One op, as each production Deployment runs: its process holds only the upscaler's sessions.
    const { api, worker } = await startSeparateStack(ctx, "health", { IMAGEN_WORKER_OPS: "upscale" });
    try {
      const targets = [
        { name: "API /healthz", url: api.url },
        { name: "worker /healthz", url: worker.url },
      ];
      const r = await probeDuringJob(ctx, api, targets, worker.child.pid!, large);
      results.push({ shape: "separate processes", input: path.basename(large), workerReadyMs: worker.readyMs, ...r });
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
    }
  }
  return results;
}

export interface ConcurrencyResult {
  op: "enhance";
  input: string;
  jobsPerBatch: number;
  rounds: number;
  /** Per concurrency (1, 2): jobs/s per batch, POST→succeeded per job, and the job's own run time. */
  byConcurrency: Record<"1" | "2", { jobsPerS: Spread; latencyMs: Spread; runMs: Spread }>;
  /** Per round, jobs/s(2) ÷ jobs/s(1), and median run time(2) ÷ (1). */
  throughputRatio: Spread;
  runTimeRatio: Spread;
}

/** The same batch of enhance jobs, all submitted at once, to a worker with WORKER_CONCURRENCY 1 and one with 2. */
export async function measureConcurrency(ctx: ServiceContext): Promise<ConcurrencyResult> {
  const jobs = 8;
  const rounds = ctx.quick ? 2 : 3;
  const input = await makeInput(ctx.dir, "coffee-600x400.png", 0.5, true);
  const stacks: { c: "1" | "2"; api: ServiceProcess; worker: ServiceProcess }[] = [];
  try {
    for (const c of ["1", "2"] as const) {
      // Pool size and intra-op threads follow WORKER_CONCURRENCY, as by default (an empty value is unset).
      const { api, worker } = await startSeparateStack(ctx, `concurrency-${c}`, {
        WORKER_CONCURRENCY: c,
        WORKER_POOL_SIZE: "",
        WORKER_INTRA_OP_THREADS: "",
      });
      stacks.push({ c, api, worker });
      await Promise.all(Array.from({ length: 2 }, () => runJob(api.url, "enhance", {}, input)));
    }
    const per: Record<"1" | "2", { jobsPerS: number[]; latencyMs: number[]; runMs: number[] }> = {
      "1": { jobsPerS: [], latencyMs: [], runMs: [] },
      "2": { jobsPerS: [], latencyMs: [], runMs: [] },
    };
    const medianRun: Record<"1" | "2", number[]> = { "1": [], "2": [] };
    for (let round = 0; round < rounds; round++) {
      for (const s of round % 2 === 0 ? stacks : [...stacks].reverse()) {
        const started = performance.now();
        const done = await Promise.all(Array.from({ length: jobs }, () => runJob(s.api.url, "enhance", {}, input)));
        const wallS = (performance.now() - started) / 1000;
        const runMs = done.map((d) => Date.parse(d.job.finishedAt!) - Date.parse(d.job.startedAt!));
        per[s.c].jobsPerS.push(jobs / wallS);
        per[s.c].latencyMs.push(...done.map((d) => d.doneMs));
        per[s.c].runMs.push(...runMs);
        medianRun[s.c].push(median(runMs));
        ctx.log(
          `  concurrency ${s.c} round ${round + 1}: ${(jobs / wallS).toFixed(2)} jobs/s, run ${median(runMs)} ms`,
        );
      }
    }
    return {
      op: "enhance",
      input: path.basename(input),
      jobsPerBatch: jobs,
      rounds,
      byConcurrency: {
        "1": {
          jobsPerS: spread(per["1"].jobsPerS),
          latencyMs: spread(per["1"].latencyMs),
          runMs: spread(per["1"].runMs),
        },
        "2": {
          jobsPerS: spread(per["2"].jobsPerS),
          latencyMs: spread(per["2"].latencyMs),
          runMs: spread(per["2"].runMs),
        },
      },
      throughputRatio: spread(per["2"].jobsPerS.map((v, i) => v / per["1"].jobsPerS[i]!)),
      runTimeRatio: spread(medianRun["2"].map((v, i) => v / medianRun["1"][i]!)),
    };
  } finally {
    await Promise.all(stacks.flatMap((s) => [s.api.stop(), s.worker.stop()]));
  }
}

export interface SubmitBenchResult {
  ran: boolean;
  ok: boolean;
  lines: string[];
  note: string;
}

/** `npm run bench:submit -w @imagen/api` when apps/api has it; its output lines, or why not. */
export async function runSubmitBench(ctx: ServiceContext): Promise<SubmitBenchResult> {
  const source = path.join(REPO_ROOT, "apps/api/bench/submit-load.ts");
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, "apps/api/package.json"), "utf8")) as {
    scripts?: Record<string, string>;
  };
  if (!existsSync(source) || pkg.scripts?.["bench:submit"] === undefined) {
    return {
      ran: false,
      ok: false,
      lines: [],
      note: "no submit bench in apps/api (bench:submit script or bench/submit-load.ts missing)",
    };
  }
  const args = [
    "run",
    "bench:submit",
    "-w",
    "@imagen/api",
    "--",
    ...(ctx.quick ? ["--rounds", "2", "--duration", "3"] : []),
  ];
  try {
    const { stdout } = await promisify(execFile)("npm", args, {
      cwd: REPO_ROOT,
      env: ctx.env,
      timeout: 6 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { ran: true, ok: true, lines: stdout.trimEnd().split("\n"), note: `npm ${args.join(" ")}` };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message?: string };
    const tail = `${e.stdout ?? ""}\n${e.stderr ?? ""}`.trim().split("\n").slice(-15);
    return {
      ran: true,
      ok: false,
      lines: tail,
      note: `npm ${args.join(" ")} failed (${String(e.code ?? e.message ?? "error")})`,
    };
  }
}
