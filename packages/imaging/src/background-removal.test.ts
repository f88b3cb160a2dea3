import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { exifRotatedJpeg, patternImage, patternPixels } from "@imagen/testing/images";
import { buildTinyModel, tinyMaskModel, type TinyNode } from "@imagen/testing/onnx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTinyPipelines, idle, idleWithGraphs, testContract } from "../test/model-fixtures.js";
import {
  DEFAULT_BACKGROUND_SETTINGS,
  addPortraitPixels,
  composeOutput,
  cropBox,
  predictAlpha,
  removeBackground,
  warmUpRefinement,
} from "./background-removal.js";
import type { DecodedImage } from "./decode.js";
import { planMaskInput, predictMask } from "./mask-model.js";
import type { ModelContract } from "@imagen/catalogue";
import type { Pipelines } from "./pipelines.js";
import { createSessionCache, type GraphSessions, type LoadedModel } from "./sessions.js";

const cutout = { output: "cutout", background: "#ffffff" } as const;
const maskOnly = { output: "mask", background: "#ffffff" } as const;

interface Raw {
  data: Buffer;
  channels: number;
  width: number;
  height: number;
}

async function raw(data: Buffer): Promise<Raw> {
  const { data: pixels, info } = await sharp(data).raw().toBuffer({ resolveWithObject: true });
  return { data: pixels, channels: info.channels, width: info.width, height: info.height };
}

/** Left half `left`, right half `right` (grey levels). */
function halvesPixels(width: number, height: number, left = 0, right = 255): Buffer {
  const rgb = Buffer.alloc(width * height * 3, left);
  for (let p = 0; p < width * height; p++) if (p % width >= width / 2) rgb.fill(right, p * 3, p * 3 + 3);
  return rgb;
}

/** Left half black, right half white: the tiny mask model (channel mean) gives 0 | 1. */
function halves(width: number, height: number): Promise<Buffer> {
  return sharp(halvesPixels(width, height), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

function channel(image: Raw, x: number, y: number, c: number): number {
  return image.data[(y * image.width + x) * image.channels + c]!;
}

const BASE_CONTRACT = testContract({
  input: "input.1",
  output: "d0",
  tileSize: 320,
  tileOverlap: 0,
  inputSize: { width: 320, height: 320 },
});

/**
 * A U²-Netp-shaped model: `input.1` float32 fixed [1,3,320,320] (any other size fails), two outputs
 * `side` = 1 − d0 (listed first) and `d0` = the channel mean × `gain` + `bias`, times an optional
 * left-to-right ramp (0 at x = 0 … 1 at x = 319) that makes it see a mirror image differently.
 */
async function fixedSizeModel(
  contract: Partial<ModelContract>,
  spec: { gain?: number; bias?: number; ramp?: boolean } = {},
): Promise<LoadedModel> {
  const shape = [1, 1, 320, 320];
  const nodes: TinyNode[] = [
    { op: "ReduceMean", inputs: ["input.1"], outputs: ["m"], attributes: { axes: [1], keepdims: 1 } },
    { op: "Mul", inputs: ["m", "gain"], outputs: ["g"] },
    { op: "Add", inputs: ["g", "bias"], outputs: spec.ramp ? ["flat"] : ["d0"] },
    ...(spec.ramp ? [{ op: "Mul", inputs: ["flat", "ramp"], outputs: ["d0"] }] : []),
    { op: "Sub", inputs: ["one", "d0"], outputs: ["side"] },
  ];
  const bytes = buildTinyModel({
    name: "fixed-mask",
    inputs: [{ name: "input.1", shape: [1, 3, 320, 320] }],
    outputs: [
      { name: "side", shape },
      { name: "d0", shape },
    ],
    nodes,
    initializers: [
      { name: "gain", dims: [], values: [spec.gain ?? 1] },
      { name: "bias", dims: [], values: [spec.bias ?? 0] },
      { name: "one", dims: [], values: [1] },
      ...(spec.ramp
        ? [{ name: "ramp", dims: [1, 1, 1, 320], values: Array.from({ length: 320 }, (_, x) => x / 319) }]
        : []),
    ],
  });
  return loaded(bytes, { ...BASE_CONTRACT, ...contract });
}

async function loaded(bytes: Uint8Array, contract: ModelContract): Promise<LoadedModel> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
  const entry = {
    id: "fixture",
    op: "background-removal" as const,
    label: "fixture",
    default: true,
    file: "fixture.onnx",
    sha256: "0".repeat(64),
    bytes: bytes.length,
    source: { url: "https://example.invalid/fixture", licence: "Apache-2.0" },
    contract,
  };
  return { entry, session };
}

function decoded(rgb: Buffer, width: number, height: number): DecodedImage {
  return { rgb, alpha: null, width, height };
}

const mainOnly = { ...DEFAULT_BACKGROUND_SETTINGS, crop: false, portrait: false };

describe("background removal: model contracts", () => {
  it("plans a fixed input size as a stretch, and an aspect-preserving resize padded to the multiple otherwise", () => {
    expect(planMaskInput(333, 201, BASE_CONTRACT)).toEqual({
      resized: { width: 320, height: 320 },
      padded: { width: 320, height: 320 },
      offset: { x: 0, y: 0 },
    });
    const free = { ...BASE_CONTRACT, inputSize: undefined, multiple: 32 };
    expect(planMaskInput(333, 201, free)).toEqual({
      resized: { width: 320, height: 193 },
      padded: { width: 320, height: 224 },
      offset: { x: 0, y: 15 },
    });
    expect(planMaskInput(40, 1000, free).padded).toEqual({ width: 32, height: 320 });
  });

  it("feeds a non-square photo to a fixed 320² model and reads the contract's output, not the first", async () => {
    const model = await fixedSizeModel({});
    const out = await removeBackground(
      { main: model },
      decoded(halvesPixels(96, 64), 96, 64),
      maskOnly,
      idleWithGraphs,
      mainOnly,
    );
    expect([out.width, out.height, out.channels]).toEqual([96, 64, 1]);
    // `side` (listed first) is the inverse: reading it would make the left half opaque.
    expect([out.rgb[32 * 96 + 10], out.rgb[32 * 96 + 85]]).toEqual([0, 255]);
  });

  it("warms up the guided-filter graphs that a fixed-input model's landscape and 3:4 portrait photos use", async () => {
    const model = await fixedSizeModel({});
    const inner = createSessionCache({ executionProvider: "cpu", intraOpNumThreads: 1 });
    const built: string[] = [];
    const graphs: GraphSessions = {
      graph: (key, build) => {
        if (!built.includes(key)) built.push(key);
        return inner.graph(key, build);
      },
    };
    try {
      await warmUpRefinement(graphs, model.entry.contract);
      const warmed = [...built];
      // The radius follows the model's pixel, which a fixed input stretches differently per aspect ratio.
      expect(warmed).toHaveLength(2);
      for (const [width, height] of [
        [600, 400],
        [450, 600],
      ] as const) {
        const image = decoded(halvesPixels(width, height), width, height);
        await removeBackground({ main: model }, image, maskOnly, { ...idle, graphs }, mainOnly);
      }
      expect(built).toEqual(warmed);
    } finally {
      await inner.close();
    }
  });

  it("divides by the image's maximum before the mean/std normalisation", async () => {
    // Grey 64 | 128: divided by the maximum 128 they are 0.5 | 1, normalised 0 | 2 (1 once clamped);
    // without the division they would be 0.25 | 0.5, normalised -1 | 0: all background.
    const normalize = {
      mean: [0.5, 0.5, 0.5] as [number, number, number],
      std: [0.25, 0.25, 0.25] as [number, number, number],
    };
    const image = decoded(halvesPixels(96, 64, 64, 128), 96, 64);
    const divided = await fixedSizeModel({ normalize: { ...normalize, divideByMax: true } });
    const plain = await fixedSizeModel({ normalize: { ...normalize } });
    const a = (await removeBackground({ main: divided }, image, maskOnly, idleWithGraphs, mainOnly)).rgb;
    const b = (await removeBackground({ main: plain }, image, maskOnly, idleWithGraphs, mainOnly)).rgb;
    expect([a[32 * 96 + 10], a[32 * 96 + 85]]).toEqual([0, 255]);
    expect(b.every((v) => v === 0)).toBe(true);
  });

  it("stretches an output that is a score, not a probability, to [0,1] with outputScaling minmax", async () => {
    // d0 = 0.25 · mean + 0.1 is 0.1 | 0.35 on a black | white image: below 0.5 everywhere.
    const spec = { gain: 0.25, bias: 0.1 };
    const image = decoded(halvesPixels(96, 64), 96, 64);
    const scaled = await fixedSizeModel({ outputScaling: "minmax" }, spec);
    const unscaled = await fixedSizeModel({}, spec);
    const a = (await removeBackground({ main: scaled }, image, maskOnly, idleWithGraphs, mainOnly)).rgb;
    const b = (await removeBackground({ main: unscaled }, image, maskOnly, idleWithGraphs, mainOnly)).rgb;
    expect([a[32 * 96 + 10], a[32 * 96 + 85]]).toEqual([0, 255]);
    expect(Math.max(...b)).toBeLessThan(128);
  });

  it("merges the mirror-image run, flipped back, by the quadratic mean", async () => {
    // On a white image the ramp model sees 0 → 1 left to right, and 1 → 0 in the mirror image.
    const model = await fixedSizeModel({}, { ramp: true });
    const white = { rgb: Buffer.alloc(320 * 320 * 3, 255), width: 320, height: 320 };
    const once = await predictMask(model, white, false, idle.signal);
    const both = await predictMask(model, white, true, idle.signal);
    expect([once.data[0], once.data[319]]).toEqual([0, 1]);
    expect(both.data[0]).toBeCloseTo(Math.SQRT1_2, 5);
    expect(both.data[319]).toBeCloseTo(Math.SQRT1_2, 5);
    expect(both.data[160]).toBeCloseTo(Math.sqrt(((160 / 319) ** 2 + (159 / 319) ** 2) / 2), 5);
  });
});

describe("background removal: merging masks", () => {
  const plane = (width: number, height: number, value: (x: number, y: number) => number) => ({
    data: Float32Array.from({ length: width * height }, (_, i) => value(i % width, Math.floor(i / width))),
    width,
    height,
  });
  const square = (x: number, y: number): boolean => x >= 10 && x < 30 && y >= 10 && y < 30;
  const arm = (x: number, y: number): boolean => x >= 30 && x < 45 && y >= 15 && y < 20;
  const blob = (x: number, y: number): boolean => x >= 50 && x < 58 && y >= 50 && y < 58;

  it("adds the portrait model's confident pixels that touch the subject where the main model is unsure", () => {
    const mask = plane(64, 64, (x, y) => (square(x, y) ? 1 : 0.2));
    const portrait = plane(64, 64, (x, y) => (square(x, y) || arm(x, y) || blob(x, y) ? 0.95 : 0));
    expect(addPortraitPixels(mask, portrait)).toBe(15 * 5);
    expect(mask.data[17 * 64 + 40]).toBeCloseTo(0.95, 5);
    // Not connected to the subject: stays as the main model had it.
    expect(mask.data[54 * 64 + 54]).toBeCloseTo(0.2, 5);
  });

  it("adds nothing where the main model is sure it is background, or when the two disagree on the subject", () => {
    const sure = plane(64, 64, (x, y) => (square(x, y) ? 1 : 0));
    expect(
      addPortraitPixels(
        sure,
        plane(64, 64, (x, y) => (square(x, y) || arm(x, y) ? 0.95 : 0)),
      ),
    ).toBe(0);
    const unsure = plane(64, 64, (x, y) => (square(x, y) ? 1 : 0.2));
    const elsewhere = plane(64, 64, (x, y) => (x >= 30 && y >= 10 && y < 30 ? 0.95 : 0));
    expect(addPortraitPixels(unsure, elsewhere)).toBe(0);
  });

  it("crops around the subject with a margin, widening a thin box to an aspect of at most 1.5", () => {
    expect(cropBox({ x0: 100, y0: 100, x1: 200, y1: 180 }, { width: 640, height: 480 })).toEqual({
      x0: 85,
      y0: 88,
      x1: 215,
      y1: 192,
    });
    const tall = cropBox({ x0: 300, y0: 100, x1: 320, y1: 400 }, { width: 640, height: 427 });
    expect([tall.y0, tall.y1]).toEqual([55, 427]);
    expect(tall.y1 - tall.y0).toBeLessThanOrEqual(1.5 * (tall.x1 - tall.x0));
    expect((tall.x0 + tall.x1) / 2).toBeCloseTo(310, 0);
    const edge = cropBox({ x0: 0, y0: 10, x1: 20, y1: 300 }, { width: 640, height: 427 });
    expect(edge.x0).toBe(0);
  });
});

describe("background removal through the pipeline (tiny models)", () => {
  let fixture: Awaited<ReturnType<typeof createTinyPipelines>>;
  let pipelines: Pipelines;
  beforeAll(async () => {
    fixture = await createTinyPipelines();
    pipelines = fixture.pipelines;
  });
  afterAll(() => fixture.close());

  it("cuts out RGBA at the input's size: transparent where the mask is 0, opaque where it is 1", async () => {
    const result = await pipelines.run("background-removal", await halves(96, 64), cutout, idle);
    expect([result.format, result.width, result.height]).toEqual(["png", 96, 64]);
    expect(result.models).toEqual(["tiny-mask", "tiny-portrait"]);
    const out = await raw(result.data);
    expect([out.width, out.height, out.channels]).toEqual([96, 64, 4]);
    for (const y of [0, 31, 63]) {
      for (const x of [0, 20, 44]) expect(channel(out, x, y, 3)).toBe(0);
      for (const x of [51, 70, 95]) expect(channel(out, x, y, 3)).toBe(255);
    }
    expect(channel(out, 70, 10, 0)).toBe(255);
  });

  it("runs the named model alone", async () => {
    const result = await pipelines.run(
      "background-removal",
      await halves(96, 64),
      { ...cutout, model: "tiny-portrait" },
      idle,
    );
    expect(result.models).toEqual(["tiny-portrait"]);
    const out = await raw(result.data);
    expect([channel(out, 10, 30, 3), channel(out, 90, 30, 3)]).toEqual([0, 255]);
  });

  /** The cut-out of the 120×90 test pattern (its raw pixels beside it), whose mask has detail everywhere. */
  async function patternCutout(): Promise<{ out: Raw; rgb: Buffer; width: number; height: number }> {
    const [width, height] = [120, 90];
    const result = await pipelines.run("background-removal", await patternImage({ width, height }), cutout, idle);
    return { out: await raw(result.data), rgb: patternPixels(width, height), width, height };
  }

  it("follows the model's mask on a detailed image: opaque above 0.5, clear below, soft only at the outline", async () => {
    const { out, rgb, width, height } = await patternCutout();
    let [agree, decided, opaqueOrClear, far] = [0, 0, 0, 0];
    for (let p = 0; p < width * height; p++) {
      const m = (rgb[p * 3]! + rgb[p * 3 + 1]! + rgb[p * 3 + 2]!) / 3 / 255;
      const a = out.data[p * 4 + 3]!;
      if (Math.abs(m - 0.5) > 0.1) {
        decided++;
        if (a >= 128 === m >= 0.5) agree++;
      }
      if (Math.abs(m - 0.5) > 0.3) {
        far++;
        if (a === 0 || a === 255) opaqueOrClear++;
      }
    }
    expect(agree / decided).toBeGreaterThan(0.97);
    expect(opaqueOrClear / far).toBeGreaterThan(0.97);
  });

  it("keeps no colour of the removed background: clear pixels are black, opaque ones the input's", async () => {
    const { out, rgb, width, height } = await patternCutout();
    let [clear, clearBlack, opaque, opaqueKept] = [0, 0, 0, 0];
    for (let p = 0; p < width * height; p++) {
      const [pixel, input] = [out.data.subarray(p * 4, p * 4 + 3), rgb.subarray(p * 3, p * 3 + 3)];
      if (out.data[p * 4 + 3] === 0) {
        clear++;
        if (pixel.every((v) => v === 0)) clearBlack++;
      } else if (out.data[p * 4 + 3] === 255) {
        opaque++;
        if (pixel.every((v, c) => v === input[c])) opaqueKept++;
      }
    }
    expect(clear).toBeGreaterThan(0.2 * width * height);
    expect(clearBlack).toBe(clear);
    expect(opaque).toBeGreaterThan(0.2 * width * height);
    expect(opaqueKept).toBe(opaque);
  });

  it("outputs the mask as a one-channel greyscale image", async () => {
    const input = await halves(96, 64);
    const result = await pipelines.run("background-removal", input, maskOnly, idle);
    expect(result.format).toBe("png");
    const meta = await sharp(result.data).metadata();
    expect([meta.width, meta.height, meta.channels, meta.space]).toEqual([96, 64, 1, "b-w"]);
    const out = await raw(result.data);
    expect([channel(out, 10, 5, 0), channel(out, 90, 5, 0)]).toEqual([0, 255]);
    const jpeg = await pipelines.run("background-removal", input, { ...maskOnly, format: "jpeg" }, idle);
    expect((await sharp(jpeg.data).metadata()).channels).toBe(1);
  });

  it("composites over the background colour with no alpha", async () => {
    const input = await halves(96, 64);
    const result = await pipelines.run("background-removal", input, { output: "color", background: "#ff0000" }, idle);
    const out = await raw(result.data);
    expect([out.width, out.height, out.channels]).toEqual([96, 64, 3]);
    expect([0, 1, 2].map((c) => channel(out, 10, 30, c))).toEqual([255, 0, 0]);
    expect([0, 1, 2].map((c) => channel(out, 80, 30, c))).toEqual([255, 255, 255]);
  });

  it("multiplies the mask by the input's own alpha", async () => {
    const [width, height] = [64, 16];
    const rgba = Buffer.alloc(width * height * 4, 255);
    for (let p = 0; p < width * height; p++) rgba[p * 4 + 3] = Math.round(((p % width) / (width - 1)) * 255);
    const input = await sharp(rgba, { raw: { width, height, channels: 4 } })
      .png()
      .toBuffer();
    const out = await raw((await pipelines.run("background-removal", input, cutout, idle)).data);
    for (const x of [0, 20, 40, 63])
      expect(Math.abs(channel(out, x, 8, 3) - rgba[(8 * width + x) * 4 + 3]!)).toBeLessThanOrEqual(1);
  });

  it.each([
    [333, 201],
    [1000, 40],
    [40, 1000],
    [7, 5],
  ])("handles a %d×%d image", async (width, height) => {
    const out = await raw((await pipelines.run("background-removal", await halves(width, height), cutout, idle)).data);
    expect([out.width, out.height, out.channels]).toEqual([width, height, 4]);
    expect(channel(out, 0, height - 1, 3)).toBeLessThanOrEqual(2);
    expect(channel(out, width - 1, 0, 3)).toBeGreaterThanOrEqual(253);
  });

  it("applies EXIF orientation before segmenting", async () => {
    const result = await pipelines.run(
      "background-removal",
      await exifRotatedJpeg({ width: 48, height: 32 }),
      cutout,
      idle,
    );
    expect([result.width, result.height]).toEqual([32, 48]);
  });

  it("reports progress in increasing steps between model runs", async () => {
    const seen: number[] = [];
    await pipelines.run("background-removal", await halves(96, 64), cutout, {
      signal: new AbortController().signal,
      onProgress: (f) => void seen.push(f),
    });
    // Full frame, crop pass (the subject is the right half), portrait helper, refined.
    expect(seen).toEqual([0.3, 0.55, 0.7, 0.9]);
  });

  it("stops when the signal aborts between stages", async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const onProgress = (fraction: number): void => {
      seen.push(fraction);
      controller.abort(new Error("job canceled"));
    };
    const input = await halves(64, 64);
    await expect(
      pipelines.run("background-removal", input, cutout, { signal: controller.signal, onProgress }),
    ).rejects.toThrow("job canceled");
    expect(seen).toEqual([0.3]);
  });
});

describe("background removal: composing the output", () => {
  it("composites a soft alpha over the background colour (sharp) as α·rgb + (1 − α)·background", async () => {
    const [width, height] = [16, 4];
    const rgb = Buffer.alloc(width * height * 3);
    const mask = Buffer.alloc(width * height);
    for (let p = 0; p < width * height; p++) {
      rgb.set([200, 100, (p * 37) % 256], p * 3);
      mask[p] = (p * 17) % 256;
    }
    const out = await composeOutput(decoded(rgb, width, height), mask, { output: "color", background: "#ff0000" });
    expect([out.width, out.height, out.channels ?? 3, out.alpha]).toEqual([width, height, 3, null]);
    const background = [255, 0, 0];
    for (let p = 0; p < width * height; p++) {
      for (let c = 0; c < 3; c++) {
        const expected = background[c]! + (mask[p]! / 255) * (rgb[p * 3 + c]! - background[c]!);
        expect(Math.abs(out.rgb[p * 3 + c]! - expected)).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe("background removal above a megapixel", () => {
  it("merges and refines on a reduced copy and still fills the full size", async () => {
    const [width, height] = [1200, 900];
    const main = await loaded(tinyMaskModel({ multiple: 32 }), {
      ...BASE_CONTRACT,
      input: "input",
      output: "mask",
      multiple: 32,
      inputSize: undefined,
    });
    const times = { preMs: 0, inferMs: 0, postMs: 0 };
    const { alpha, mask } = await predictAlpha(
      { main },
      { rgb: halvesPixels(width, height), width, height },
      DEFAULT_BACKGROUND_SETTINGS,
      { ...idleWithGraphs, times },
    );
    expect(mask.width * mask.height).toBeLessThanOrEqual(1024 * 1024);
    // The mask grid is bounded (long side 512), whatever the input size.
    expect(Math.max(mask.width, mask.height)).toBeLessThanOrEqual(512);
    expect(alpha.length).toBe(width * height);
    const row = 450 * width;
    expect([alpha[row + 10], alpha[row + 590], alpha[row + 610], alpha[row + 1190]]).toEqual([0, 0, 255, 255]);
    expect(times.inferMs).toBeGreaterThan(0);
    expect(times.postMs).toBeGreaterThan(0);
  });
});
