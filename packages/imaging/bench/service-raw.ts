/**
 * The floor of the service section's overhead ratios: bare `session.run` of an op's models on the
 * same image, in a process of its own with the worker's intra-op thread count. `node
 * service-raw.js <intraOpThreads> <modelDir>`, driven over IPC by service-bench.ts:
 * `prepare` runs the op's pipeline once, recording every `session.run` (the tiles the pipeline
 * runs), and builds a whole-image feed for each tiled model; `run` replays both and reports their
 * times. Nothing else runs here while the service is measured, and vice versa.
 */
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { parseOptions, type OpName } from "@imagen/core";
import {
  configureSharp,
  createModelRegistry,
  createPipelines,
  createSessionCache,
  loadManifest,
  type SessionCache,
} from "@imagen/imaging";

/** A request from the parent. */
export type RawRequest =
  { kind: "prepare"; op: OpName; options: Record<string, unknown>; inputPath: string } | { kind: "run"; op: OpName };

/** The answer to a request. */
export type RawReply =
  | { kind: "prepared"; op: OpName; tileRuns: number; wholeRuns: number; tiledModels: string[] }
  | { kind: "ran"; op: OpName; tilesMs: number; wholeMs: number }
  | { kind: "error"; message: string };

interface Recorded {
  session: ort.InferenceSession;
  modelPath: string;
  feeds: Record<string, ort.Tensor>;
  fetches: readonly string[] | undefined;
}

type Manifest = Awaited<ReturnType<typeof loadManifest>>;
type Contract = Manifest["models"][number]["contract"];

const [threadsArg, modelDir = "models"] = process.argv.slice(2);
const intraOpNumThreads = Number(threadsArg ?? "1");
configureSharp({ concurrency: intraOpNumThreads, cacheMb: 0 });
const manifest = await loadManifest();
const registry = createModelRegistry({ manifest, modelDir });
const inner = createSessionCache({ executionProvider: "cpu", intraOpNumThreads });
const log: Recorded[] = [];
// Built graphs (the guided filter's) are post-processing, not a model: their runs are not recorded.
const sessions: SessionCache = { ...inner, get: async (p) => record(await inner.get(p), p) };
const pipelines = createPipelines({
  registry,
  sessions,
  limits: { maxInputPixels: 40_000_000, maxOutputPixels: 8192 * 8192 },
});
const prepared = new Map<OpName, { tiles: Recorded[]; whole: Recorded[] }>();
const idle = { signal: new AbortController().signal, onProgress: () => undefined };

/** The session, with `run` copying each feed it is given into `log`. */
function record(session: ort.InferenceSession, modelPath: string): ort.InferenceSession {
  return new Proxy(session, {
    get(target, prop) {
      if (prop === "run") {
        return (feeds: Record<string, ort.Tensor>, fetches?: readonly string[]) => {
          const copy = Object.fromEntries(
            Object.entries(feeds).map(([name, t]) => [
              name,
              new ort.Tensor("float32", (t.data as Float32Array).slice(), t.dims),
            ]),
          );
          log.push({ session: target, modelPath, feeds: copy, fetches });
          return fetches ? target.run(feeds, [...fetches]) : target.run(feeds);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function replay(runs: readonly Recorded[]): Promise<number> {
  const started = performance.now();
  for (const { session, feeds, fetches } of runs) {
    const out = fetches ? await session.run(feeds, [...fetches]) : await session.run(feeds);
    for (const tensor of Object.values(out)) tensor.dispose();
  }
  return performance.now() - started;
}

function contractOf(modelPath: string): Contract | undefined {
  return manifest.models.find((m) => modelPath.endsWith(m.file))?.contract;
}

/**
 * The runs with every tiled model's tiles replaced by one run on the whole image (grown by the
 * model's border pad, rounded up to its multiple, edge pixels repeated). A model fed a fixed or
 * bounded size (inputSize, maxSide), or run once, keeps its recorded runs: they already are its
 * whole-image runs.
 */
function wholeImageRuns(runs: readonly Recorded[], image: { rgb: Buffer; width: number; height: number }): Recorded[] {
  const out: Recorded[] = [];
  // Tiles of one pass share a session and a window size; another pass of the same model on another
  // size (enhance runs SCI on a preview first) is a run of its own, not a tile.
  const passOf = (r: Recorded): string =>
    `${r.modelPath}|${Object.values(r.feeds)
      .map((t) => t.dims.join("x"))
      .join()}`;
  const seen = new Set<string>();
  for (const run of runs) {
    const pass = passOf(run);
    if (seen.has(pass)) continue;
    seen.add(pass);
    const group = runs.filter((r) => passOf(r) === pass);
    const contract = contractOf(run.modelPath);
    const fixed = contract === undefined || contract.inputSize !== undefined || contract.maxSide !== undefined;
    if (group.length === 1 || fixed) {
      out.push(...group);
      continue;
    }
    const pad = contract.borderPad ?? 0;
    const up = (n: number): number => Math.ceil(n / contract.multiple) * contract.multiple;
    const width = up(image.width + 2 * pad);
    const height = up(image.height + 2 * pad);
    const [lo, hi] = contract.range;
    const data = new Float32Array(3 * width * height);
    const plane = width * height;
    for (let y = 0; y < height; y++) {
      const sy = Math.min(image.height - 1, Math.max(0, y - pad));
      for (let x = 0; x < width; x++) {
        const s = (sy * image.width + Math.min(image.width - 1, Math.max(0, x - pad))) * 3;
        for (let c = 0; c < 3; c++) data[c * plane + y * width + x] = lo + ((hi - lo) * image.rgb[s + c]!) / 255;
      }
    }
    const feeds = { ...run.feeds, [contract.input]: new ort.Tensor("float32", data, [1, 3, height, width]) };
    out.push({ ...run, feeds });
  }
  return out;
}

async function prepare(request: Extract<RawRequest, { kind: "prepare" }>): Promise<RawReply> {
  const input = await readFile(request.inputPath);
  const options = parseOptions(request.op, request.options);
  log.length = 0;
  await pipelines.run(request.op, input, options, idle);
  const tiles = log.splice(0);
  const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const whole = wholeImageRuns(tiles, { rgb: data, width: info.width, height: info.height });
  prepared.set(request.op, { tiles, whole });
  const tiledModels = [...new Set(tiles.filter((t) => !whole.includes(t)).map((t) => t.modelPath.split("/").at(-1)!))];
  return { kind: "prepared", op: request.op, tileRuns: tiles.length, wholeRuns: whole.length, tiledModels };
}

async function handle(request: RawRequest): Promise<RawReply> {
  if (request.kind === "prepare") return prepare(request);
  const runs = prepared.get(request.op);
  if (!runs) throw new Error(`Expected prepare before run for ${request.op}`);
  const tilesMs = await replay(runs.tiles);
  const wholeMs = await replay(runs.whole);
  return { kind: "ran", op: request.op, tilesMs, wholeMs };
}

process.on("message", (request: RawRequest) => {
  handle(request).then(
    (reply) => process.send?.(reply),
    (err: unknown) => process.send?.({ kind: "error", message: err instanceof Error ? err.message : String(err) }),
  );
});
process.on("disconnect", () => {
  void inner.close().finally(() => process.exit(0));
});
process.send?.({ kind: "ready" });
