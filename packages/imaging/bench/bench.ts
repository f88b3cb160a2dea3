/**
 * `npm run bench`: every op at about 0.25, 1 and 4 MP on real photos with the default real models
 * (IMAGEN_MODEL_DIR, else the repo's models/). Each case runs in a child process (bench-case.ts) for
 * a clean peak RSS. Prints a table and writes bench-results/<date>.json. `--quick` skips 4 MP;
 * `--ops upscale,comic` picks ops.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import sharp from "sharp";
import type { OpName } from "@imagen/core";
import { createModelRegistry, createPipelines, createSessionCache, loadManifest } from "@imagen/imaging";
import type { BenchCase, CaseResult } from "./bench-case.js";

// This file runs from bench/dist/; the repo root is four levels up, the package's photos two.
const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const PHOTOS = fileURLToPath(new URL("../../test/images/", import.meta.url));
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

/**
 * The photo resized (lanczos3, aspect kept) to about `mp` megapixels, as a q90 jpeg; with `darken`,
 * underexposed as `255·(v/255·0.35)^1.6`.
 */
async function makeInput(dir: string, photo: string, mp: number, darken = false): Promise<string> {
  const meta = await sharp(path.join(PHOTOS, photo)).metadata();
  const aspect = (meta.width ?? 1) / (meta.height ?? 1);
  const width = Math.round(Math.sqrt(mp * 1e6 * aspect));
  const height = Math.round(width / aspect);
  const file = path.join(dir, `${path.parse(photo).name}${darken ? "-dark" : ""}-${width}x${height}.jpg`);
  const resized = sharp(path.join(PHOTOS, photo))
    .removeAlpha()
    .resize(width, height, { kernel: "lanczos3", fit: "fill" });
  if (!darken) {
    await resized.jpeg({ quality: 90 }).toFile(file);
    return file;
  }
  const { data, info } = await resized.raw().toBuffer({ resolveWithObject: true });
  const curve = Uint8Array.from({ length: 256 }, (_, v) => Math.round(255 * ((v / 255) * 0.35) ** 1.6));
  for (let i = 0; i < data.length; i++) data[i] = curve[data[i]!]!;
  await sharp(data, { raw: info }).jpeg({ quality: 90 }).toFile(file);
  return file;
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
  const quick = args.includes("--quick");
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
    const rows = await runCases(dir, models, ops, quick);
    const refusal = ops.includes("upscale") ? await showRefusal(dir, models) : "";
    console.log(
      `\n${table(rows)}\n\nmedians (min–max) over interleaved reps; ratio = median end-to-end wall / median bare session.run on the same tensors, same run; load ${load()}`,
    );
    console.log(refusal);
    const outDir = path.resolve(env["INIT_CWD"] ?? process.cwd(), "bench-results");
    await mkdir(outDir, { recursive: true });
    const outFile = path.join(outDir, `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadAfter: loadavg() };
    await writeFile(outFile, `${JSON.stringify({ machine, limits: LIMITS, refusal, rows }, null, 2)}\n`);
    console.log(`wrote ${outFile}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
