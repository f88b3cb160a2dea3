/**
 * `npm run bench`: every op at about 0.25, 1 and 4 MP on real photos with the default real models
 * (IMAGEN_MODEL_DIR, else the repo's models/). Each case runs in a child process (bench-case.ts) for
 * a clean peak RSS. Then the service section (service-bench.ts): the service-level targets on the
 * real API and worker processes. Prints tables and writes bench-results/<date>.json. `--quick` skips
 * 4 MP and shortens the service section; `--ops upscale,comic` picks ops for the per-op section;
 * `--service-only` runs the service section alone, `--no-service` the per-op section alone.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { performance } from "node:perf_hooks";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { OpName } from "@imagen/core";
import { createModelRegistry, createPipelines, createSessionCache, loadManifest } from "@imagen/imaging";
import type { BenchCase, CaseResult } from "./bench-case.js";
import { REPO_ROOT, makeInput } from "./bench-inputs.js";
import { runServiceSection, type ServiceResults } from "./service-bench.js";

// The service defaults (core config): 40 MP in, 8192² out.
const LIMITS = { maxInputPixels: 40_000_000, maxOutputPixels: 8192 * 8192 };
const SIZES_MP = [0.25, 1, 4];

interface OpPlan {
  op: OpName;
  photo: string;
  options: Record<string, unknown>;
  /** Make the photo a dark one first (the low-light recipe of the enhance tests). */
  darken?: boolean;
  /** Repetitions per size; the 4 MP ×4 upscale (~40 s a run on 2 cores) runs once. */
  reps: readonly number[];
}

const PLANS: readonly OpPlan[] = [
  { op: "upscale", photo: "coffee-600x400.png", options: { scale: 4 }, reps: [3, 2, 1] },
  { op: "enhance", photo: "coffee-600x400.png", options: {}, darken: true, reps: [5, 3, 2] },
  { op: "comic", photo: "cat-chelsea-451x300.png", options: {}, reps: [5, 3, 2] },
  {
    op: "background-removal",
    photo: "portrait-astronaut-512x512.png",
    options: { output: "cutout", background: "#ffffff" },
    reps: [5, 3, 2],
  },
];

// eslint-disable-next-line no-restricted-properties -- an entry point, like apps/*/src/main.ts
const env = process.env;

function modelDir(): string {
  const dir = env["IMAGEN_MODEL_DIR"] ?? path.join(REPO_ROOT, "models");
  if (!existsSync(dir)) {
    throw new Error(`No model dir: set IMAGEN_MODEL_DIR to a directory holding the catalogue's models (tried ${dir})`);
  }
  return path.resolve(dir);
}

async function runChild(spec: BenchCase): Promise<CaseResult> {
  const script = fileURLToPath(new URL("./bench-case.js", import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [script, JSON.stringify(spec)], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as CaseResult;
}

/** The 12 MP ×4 case: refused at submission by the output limit, before any decoding. */
async function showRefusal(dir: string, models: string): Promise<string> {
  const input = await makeInput(dir, "coffee-600x400.png", 12);
  const registry = createModelRegistry({ manifest: await loadManifest(), modelDir: models });
  const sessions = createSessionCache({ executionProvider: "cpu" });
  const pipelines = createPipelines({ registry, sessions, limits: LIMITS });
  const idle = { signal: new AbortController().signal, onProgress: () => undefined };
  try {
    await pipelines.run("upscale", await readFile(input), { scale: 4 }, idle);
    return "12 MP ×4 upscale: NOT refused (check MAX_OUTPUT_PIXELS)";
  } catch (err) {
    const code = (err as { code?: string }).code ?? "error";
    return `12 MP ×4 upscale (${path.basename(input)}): refused at submission, ${code}: ${(err as Error).message}`;
  } finally {
    await sessions.close();
  }
}

interface Row extends CaseResult {
  op: OpName;
  mp: number;
}

function table(rows: readonly Row[]): string {
  const head = [
    "op",
    "models",
    "input",
    "output",
    "reps",
    "wall ms (min–max)",
    "decode",
    "pre",
    "infer",
    "post",
    "encode",
    "MP/s",
    "peak RSS MB",
    "bare run ms (min–max)",
    "ratio",
  ];
  const range = (median: number, [lo, hi]: readonly [number, number]): string =>
    `${median.toFixed(0)} (${lo.toFixed(0)}–${hi.toFixed(0)})`;
  const body = rows.map((r) => [
    r.op,
    r.models.join("+"),
    `${r.width}×${r.height}`,
    `${r.outWidth}×${r.outHeight}`,
    String(r.reps),
    range(r.wallMs, r.wallRangeMs),
    ...[r.timings.decodeMs, r.timings.preMs, r.timings.inferMs, r.timings.postMs, r.timings.encodeMs].map(String),
    ((r.width * r.height) / 1e6 / (r.wallMs / 1000)).toFixed(2),
    r.peakRssMb.toFixed(0),
    range(r.bareRunMs, r.bareRangeMs),
    (r.wallMs / r.bareRunMs).toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

async function runCases(dir: string, models: string, ops: readonly string[], quick: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  for (const plan of PLANS.filter((p) => ops.includes(p.op))) {
    for (const [i, mp] of SIZES_MP.entries()) {
      if (quick && mp > 1) continue;
      const inputPath = await makeInput(dir, plan.photo, mp, plan.darken);
      const reps = plan.reps[i] ?? 1;
      const spec: BenchCase = { op: plan.op, options: plan.options, inputPath, modelDir: models, reps, limits: LIMITS };
      const result = await runChild(spec);
      console.log(`  ${plan.op} ${mp} MP: ${result.wallMs.toFixed(0)} ms, peak RSS ${result.peakRssMb.toFixed(0)} MB`);
      rows.push({ op: plan.op, mp, ...result });
    }
  }
  return rows;
}

async function main(args: string[]): Promise<void> {
  const started = performance.now();
  const quick = args.includes("--quick");
  const serviceOnly = args.includes("--service-only");
  const withService = !args.includes("--no-service");
  const opsArg = args[args.indexOf("--ops") + 1];
  const ops = args.includes("--ops") && opsArg ? opsArg.split(",") : PLANS.map((p) => p.op);
  const models = modelDir();
  const problems = await createModelRegistry({ manifest: await loadManifest(), modelDir: models }).check(
    PLANS.map((p) => p.op),
  );
  if (problems.length > 0) throw new Error(`Models missing in ${models}:\n  ${problems.join("\n  ")}`);
  const dir = await mkdtemp(path.join(tmpdir(), "imagen-bench-"));
  // The load average shows whether other work shared the CPUs: timings on a busy machine drift.
  const load = (): string =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
  console.log(`bench: models ${models}, ${cpus().length} CPUs, CPU EP, node ${process.version}, load ${load()}`);
  try {
    const rows = serviceOnly ? [] : await runCases(dir, models, ops, quick);
    const refusal = !serviceOnly && ops.includes("upscale") ? await showRefusal(dir, models) : "";
    if (!serviceOnly) {
      console.log(
        `\n${table(rows)}\n\nmedians (min–max) over interleaved reps; ratio = median end-to-end wall / median bare session.run on the same tensors, same run; load ${load()}`,
      );
      console.log(refusal);
    }
    let service: ServiceResults | undefined;
    if (serviceOnly || withService) {
      console.log(`\nservice section${quick ? " (--quick)" : ""}, load ${load()}`);
      service = await runServiceSection({ dir, models, quick, env, log: (line) => console.log(line) });
      console.log(`\n${service.table}\n`);
      console.log(
        "1: median (min–max) over reps of service wall (POST with Prefer: wait, answered when the job ends; result download) ÷ the raw session.run next to it in another process, same intra-op threads and nice; " +
          `2: p99 of GET /healthz started every 10 ms during the long job; 3: per round; 4: VmHWM. service section ${(service.durationMs / 1000).toFixed(0)} s, load ${load()}`,
      );
    }
    const outDir = path.resolve(env["INIT_CWD"] ?? process.cwd(), "bench-results");
    await mkdir(outDir, { recursive: true });
    const outFile = path.join(outDir, `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadAfter: loadavg() };
    const totalMs = Math.round(performance.now() - started);
    const args_ = { quick, serviceOnly, ops };
    await writeFile(
      outFile,
      `${JSON.stringify({ machine, args: args_, totalMs, limits: LIMITS, refusal, rows, service }, null, 2)}\n`,
    );
    console.log(`wrote ${outFile}; bench took ${(totalMs / 1000).toFixed(0)} s`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
