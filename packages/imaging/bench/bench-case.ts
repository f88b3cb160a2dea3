/**
 * One benchmark case in its own process, so that its peak RSS is its own: `node bench-case.js
 * '<json BenchCase>'`. Prints one JSON line (`CaseResult`) on stdout.
 */
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import { parseOptions, type OpName } from "@imagen/core";
import {
  configureSharp,
  createModelRegistry,
  createPipelines,
  createSessionCache,
  loadManifest,
  probeImage,
  type PipelineResult,
  type SessionCache,
} from "@imagen/imaging";

/** What the parent asks a child to measure. */
export interface BenchCase {
  op: OpName;
  options: Record<string, unknown>;
  inputPath: string;
  modelDir: string;
  reps: number;
  limits: { maxInputPixels: number; maxOutputPixels: number };
}

/** What a child reports back. */
export interface CaseResult {
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
  reps: number;
  /** Ids of the models the op ran (its defaults unless the plan's options pick others). */
  models: string[];
  wallMs: number;
  wallRangeMs: [number, number];
  timings: PipelineResult["timings"];
  peakRssMb: number;
  bareRunMs: number;
  bareRangeMs: [number, number];
  runs: number;
}

interface Recorded {
  session: ort.InferenceSession;
  feeds: Record<string, ort.Tensor>;
}

const idle = { signal: new AbortController().signal, onProgress: () => undefined };

/** A session cache whose sessions copy every input they are run on into `log`. */
function recordingCache(inner: SessionCache, log: Recorded[]): SessionCache {
  const wrap = (session: ort.InferenceSession): ort.InferenceSession =>
    new Proxy(session, {
      get(target, prop) {
        if (prop === "run") {
          return (feeds: Record<string, ort.Tensor>) => {
            const copy = Object.fromEntries(
              Object.entries(feeds).map(([name, t]) => [
                name,
                new ort.Tensor("float32", (t.data as Float32Array).slice(), t.dims),
              ]),
            );
            log.push({ session: target, feeds: copy });
            return target.run(feeds);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  // Built graphs (the guided filter's) are post-processing, not a model: their runs are not recorded.
  return { ...inner, get: async (p) => wrap(await inner.get(p)) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function replay(log: Recorded[]): Promise<number> {
  const started = performance.now();
  for (const { session, feeds } of log) {
    const out = await session.run(feeds);
    for (const tensor of Object.values(out)) tensor.dispose();
  }
  return performance.now() - started;
}

async function runCase(spec: BenchCase): Promise<CaseResult> {
  configureSharp({ concurrency: 0, cacheMb: 0 });
  const registry = createModelRegistry({ manifest: await loadManifest(), modelDir: spec.modelDir });
  const log: Recorded[] = [];
  let recording = false;
  const inner = createSessionCache({ executionProvider: "cpu" });
  const recorder = recordingCache(inner, log);
  const sessions: SessionCache = { ...inner, get: (p) => (recording ? recorder : inner).get(p) };
  const pipelines = createPipelines({ registry, sessions, limits: spec.limits });
  await pipelines.warmUp([spec.op]);
  const input = await readFile(spec.inputPath);
  // As the API does: defaults filled in, so the bench runs what a client sending these options gets.
  const options = parseOptions(spec.op, spec.options);

  // One run at the real size first: it warms the session for this shape and gives the job's peak
  // RSS before the recording below holds copies of every input tensor.
  const first = await pipelines.run(spec.op, input, options, idle);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  recording = true;
  await pipelines.run(spec.op, input, options, idle);
  recording = false;
  // Pipeline and bare runs alternate, so drift on a shared machine hits both alike.
  const walls: number[] = [];
  const bare: number[] = [];
  const stages: PipelineResult["timings"][] = [];
  for (let i = 0; i < spec.reps; i++) {
    const started = performance.now();
    stages.push((await pipelines.run(spec.op, input, options, idle)).timings);
    walls.push(performance.now() - started);
    bare.push(await replay(log));
  }
  await inner.close();
  const timings = Object.fromEntries(
    Object.keys(first.timings).map((k) => [k, Math.round(median(stages.map((t) => t[k as keyof typeof t])))]),
  ) as PipelineResult["timings"];

  const { width, height } = await probeImage(input, { maxInputPixels: spec.limits.maxInputPixels });
  return {
    ...{ width, height, outWidth: first.width, outHeight: first.height, reps: spec.reps, models: first.models },
    ...{ wallMs: median(walls), wallRangeMs: [Math.min(...walls), Math.max(...walls)] as [number, number], timings },
    ...{ peakRssMb, bareRunMs: median(bare), bareRangeMs: [Math.min(...bare), Math.max(...bare)] as [number, number] },
    runs: log.length,
  };
}

const spec = JSON.parse(process.argv[2] ?? "{}") as BenchCase;
runCase(spec).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
