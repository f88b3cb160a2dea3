import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeModel } from "@imagen/onnx-graph";
import {
  buildComicGraph,
  COMIC_CONTRACT,
  COMIC_MODEL_FILE,
  COMIC_PARAMETERS,
  COMIC_RECEPTIVE_RADIUS,
  COMIC_TILE_OVERLAP,
  comicReceptiveRadius,
} from "./comic-graph.js";
import { runImageToImage, type RgbImage, type RunContext } from "./image-to-image.js";
import type { ModelContract } from "@imagen/catalogue";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const COMMITTED = path.join(REPO_ROOT, "models", COMIC_MODEL_FILE);
const MANIFEST = path.join(REPO_ROOT, "models/manifest.json");
const TEST_IMAGES_DIR = fileURLToPath(new URL("../test/images/", import.meta.url));

const idle: RunContext = { signal: new AbortController().signal, onProgress: () => undefined };

/** Ops the graph may use: standard ONNX, all with CPU kernels in onnxruntime at opset 17. */
const ALLOWED_OPS = new Set([
  "Add",
  "Clip",
  "Conv",
  "Div",
  "Exp",
  "Min",
  "Mul",
  "Pad",
  "ReduceSum",
  "Round",
  "Slice",
  "Sub",
  "Tanh",
]);

interface ManifestEntry {
  file: string;
  sha256: string;
  bytes: number;
  contract: ModelContract;
}

async function manifestEntry(): Promise<ManifestEntry | undefined> {
  const manifest = JSON.parse(await readFile(MANIFEST, "utf8")) as { models: ManifestEntry[] };
  return manifest.models.find((m) => m.file === COMIC_MODEL_FILE);
}

async function loadRgb(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(path.join(TEST_IMAGES_DIR, file))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgb: data, width: info.width, height: info.height };
}

function maxAbsDiff(a: Buffer, b: Buffer): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe("comic graph", () => {
  let session: ort.InferenceSession;
  let committed: Buffer;
  beforeAll(async () => {
    committed = await readFile(COMMITTED);
    session = await ort.InferenceSession.create(committed, { graphOptimizationLevel: "all" });
  });
  afterAll(() => session.release());

  it("rebuilds byte for byte to the committed file, whose sha256 and size the manifest records", async () => {
    const rebuilt = Buffer.from(buildComicGraph());
    expect(rebuilt.equals(committed)).toBe(true);
    const entry = await manifestEntry();
    expect(entry?.sha256).toBe(createHash("sha256").update(committed).digest("hex"));
    expect(entry?.bytes).toBe(committed.byteLength);
  });

  it("declares float32 input [1,3,height,width] and output of the same shape, opset 17, standard ops only", () => {
    const summary = describeModel(committed);
    expect(summary.inputs).toEqual([{ name: "input", shape: [1, 3, "height", "width"], type: "float" }]);
    expect(summary.outputs).toEqual([{ name: "output", shape: [1, 3, "height", "width"], type: "float" }]);
    expect(summary.opsets).toEqual({ "": 17 });
    expect(summary.ops.filter((op) => !ALLOWED_OPS.has(op))).toEqual([]);
    expect(summary.docString).toContain("not a trained network");
    expect(summary.metadata["receptive_radius_px"]).toBe(String(COMIC_RECEPTIVE_RADIUS));
  });

  it("loads in onnxruntime with the same names, float32 and symbolic H and W", () => {
    expect([session.inputNames, session.outputNames]).toEqual([["input"], ["output"]]);
    for (const meta of [...session.inputMetadata, ...session.outputMetadata]) {
      expect(meta.isTensor && [meta.type, meta.shape]).toEqual(["float32", [1, 3, "height", "width"]]);
    }
  });

  it("keeps its receptive radius within the 24 px a tile overlap can afford", () => {
    expect(COMIC_RECEPTIVE_RADIUS).toBe(comicReceptiveRadius(COMIC_PARAMETERS));
    expect(COMIC_RECEPTIVE_RADIUS).toBeLessThanOrEqual(24);
    expect(COMIC_TILE_OVERLAP).toBeGreaterThanOrEqual(COMIC_RECEPTIVE_RADIUS);
  });

  it.each([
    [1, 1],
    [1, 9],
    [7, 2],
    [33, 17],
  ])("maps any %i×%i input to the same size in [0,1]", async (h, w) => {
    const data = Float32Array.from({ length: 3 * h * w }, (_, i) => ((i * 37) % 101) / 100);
    const { output } = await session.run({ input: new ort.Tensor("float32", data, [1, 3, h, w]) });
    expect(output?.dims).toEqual([1, 3, h, w]);
    const values = output?.data as Float32Array;
    expect(values.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it("turns a flat grey into one flat colour with no ink, borders included", async () => {
    const [h, w] = [40, 30];
    const data = new Float32Array(3 * h * w).fill(0.55);
    const { output } = await session.run({ input: new ort.Tensor("float32", data, [1, 3, h, w]) });
    const values = output?.data as Float32Array;
    const first = values[0]!;
    expect(values.every((v) => Math.abs(v - first) < 1e-5)).toBe(true);
    // 0.55 lies in luma bin 4 of 8 (0.5..0.625), whose centre is 0.5625.
    expect(first).toBeCloseTo(0.5625, 4);
  });

  it("the manifest contract tiles it with at least the receptive radius of overlap", async () => {
    const entry = await manifestEntry();
    if (!entry) throw new Error("models/manifest.json has no entry for comic/comic-ink.onnx");
    expect(entry.contract).toMatchObject({ input: "input", output: "output", range: [0, 1], scale: 1, multiple: 1 });
    expect(entry.contract.tileOverlap).toBeGreaterThanOrEqual(COMIC_RECEPTIVE_RADIUS);
    expect(entry.contract.maxSide).toBeUndefined();
  });

  it.each(["portrait-astronaut-512x512.png", "coffee-600x400.png"])(
    "tiled at 128 px with the recommended overlap equals a single-tile run on %s (≤ 2 levels)",
    async (file) => {
      const image = await loadRgb(file);
      const whole = await runImageToImage(session, COMIC_CONTRACT, image, idle, { tileSize: 1024, tileOverlap: 0 });
      const tiled = await runImageToImage(session, COMIC_CONTRACT, image, idle, {
        tileSize: 128,
        tileOverlap: COMIC_TILE_OVERLAP,
      });
      expect(maxAbsDiff(tiled.rgb, whole.rgb)).toBeLessThanOrEqual(2);
      // Without the overlap the seams show, so the comparison above has teeth.
      const seamed = await runImageToImage(session, COMIC_CONTRACT, image, idle, { tileSize: 128, tileOverlap: 0 });
      expect(maxAbsDiff(seamed.rgb, whole.rgb)).toBeGreaterThan(2);
    },
  );
});
