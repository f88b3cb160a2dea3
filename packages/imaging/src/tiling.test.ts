import { readFile } from "node:fs/promises";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { patternPixels } from "@imagen/testing/images";
import { tinyEnhanceModel, tinyUpscaleModel } from "@imagen/testing/onnx";
import { describe, expect, it } from "vitest";
import { REPO_MODELS_DIR, TEST_IMAGES_DIR, testContract } from "../test/model-fixtures.js";
import { runImageToImage, runImageToImageBlended, type RgbImage } from "./image-to-image.js";
import type { TileBudget } from "./tile-budget.js";
import { MIN_CORE, planTiles, type TilePlan } from "./tiling.js";

const noop = { signal: new AbortController().signal, onProgress: () => undefined };
const x4 = testContract({ scale: 4 });

function maxDiff(a: Buffer, b: Buffer): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: sum / a.length };
}

/** Every pixel in exactly one core, each core inside its window with `overlap` of context where not at the border. */
function expectPartition(plan: TilePlan, width: number, height: number, overlap: number): void {
  const covered = new Uint8Array(width * height);
  for (const { window, core } of plan.tiles) {
    expect([window.width, window.height]).toEqual([plan.windowWidth, plan.windowHeight]);
    const axes = [
      [window.x, window.width, core.x, core.width, width],
      [window.y, window.height, core.y, core.height, height],
    ] as const;
    for (const [start, length, coreStart, coreLength, size] of axes) {
      expect(start).toBeGreaterThanOrEqual(0);
      if (length <= size) expect(start + length).toBeLessThanOrEqual(size);
      if (coreStart > 0) expect(coreStart - start).toBeGreaterThanOrEqual(overlap);
      if (coreStart + coreLength < size)
        expect(start + length - (coreStart + coreLength)).toBeGreaterThanOrEqual(overlap);
    }
    for (let y = core.y; y < core.y + core.height; y++)
      for (let x = core.x; x < core.x + core.width; x++) covered[y * width + x]! += 1;
  }
  expect(covered.every((c) => c === 1)).toBe(true);
}

describe("planTiles", () => {
  it.each([
    [300, 170, 64, 8, 1],
    [451, 300, 256, 16, 1],
    [1000, 257, 256, 16, 4],
    [97, 1203, 100, 0, 4],
    [65, 66, 64, 31, 1],
  ])(
    "partitions %i×%i (tile %i, overlap %i, multiple %i) into cores with context inside equal windows",
    (width, height, tileSize, overlap, multiple) => {
      const plan = planTiles(width, height, { tileSize, overlap, multiple });
      expectPartition(plan, width, height, overlap);
      expect(plan.windowWidth % multiple).toBe(0);
    },
  );

  it.each([
    [640, 480, 1024, 16, 1, 100_000],
    [1000, 1000, 512, 16, 1, 131_072],
    [400, 300, 1024, 4, 1, 30_000],
    [1000, 257, 256, 16, 4, 20_000],
  ])(
    "cuts %i×%i (tile %i, overlap %i, multiple %i) into windows of at most %i pixels, with few pixels in all",
    (width, height, tileSize, overlap, multiple, maxWindowPixels) => {
      const plan = planTiles(width, height, { tileSize, overlap, multiple, maxWindowPixels });
      expectPartition(plan, width, height, overlap);
      expect(plan.windowWidth * plan.windowHeight).toBeLessThanOrEqual(maxWindowPixels);
      expect(plan.windowWidth % multiple).toBe(0);
      // No more pixels in all than square windows of the largest size would take, give or take rounding.
      const side = Math.sqrt(maxWindowPixels);
      const squares = (side / (side - 2 * overlap)) ** 2 * width * height;
      expect(plan.tiles.length * plan.windowWidth * plan.windowHeight).toBeLessThan(1.1 * squares);
    },
  );

  it("cuts to cores of the minimum when no window fits the pixels, and not at all when the tiles already do", () => {
    const tight = planTiles(640, 480, { tileSize: 1024, overlap: 16, multiple: 1, maxWindowPixels: 100 });
    expectPartition(tight, 640, 480, 16);
    expect(Math.min(...tight.tiles.map((t) => Math.min(t.core.width, t.core.height)))).toBeGreaterThanOrEqual(MIN_CORE);
    expect(tight.tiles.length).toBe(Math.floor((640 - 32) / MIN_CORE) * Math.floor((480 - 32) / MIN_CORE));
    const roomy = planTiles(640, 480, { tileSize: 1024, overlap: 16, multiple: 1, maxWindowPixels: 640 * 480 });
    expect(roomy.tiles).toHaveLength(1);
  });

  it.each([
    [1024, 512, 16, 1],
    [1024, 256, 16, 1],
    [2048, 256, 16, 1],
    [1000, 320, 8, 32],
  ])(
    "sizes windows to the image (%i px, tile %i, overlap %i, multiple %i): no more pixels than the overlaps need",
    (size, tileSize, overlap, multiple) => {
      const plan = planTiles(size, size, { tileSize, overlap, multiple });
      const perAxis = Math.sqrt(plan.tiles.length);
      expect(plan.windowWidth).toBeLessThanOrEqual(tileSize);
      // Each window: an equal share of the axis, its context on both sides, rounding up to the multiple.
      expect(plan.windowWidth).toBeLessThanOrEqual(Math.ceil(size / perAxis) + 2 * overlap + multiple);
      // Fewer windows would not fit in the tile size.
      expect((perAxis - 1) * (tileSize - 2 * overlap)).toBeLessThan(size - 2 * overlap);
    },
  );

  it("pads a short axis up to the multiple and rounds the tile down to it", () => {
    const plan = planTiles(30, 100, { tileSize: 50, overlap: 4, multiple: 4 });
    expect(plan.windowWidth).toBe(32);
    // 100 px in tiles of at most 48 (50 rounded down): three windows of 31 + 2·4, rounded up to 40.
    expect(plan.windowHeight).toBe(40);
    expect(() => planTiles(30, 30, { tileSize: 16, overlap: 8, multiple: 1 })).toThrow(/more than twice the overlap/);
  });
});

describe("runImageToImage tiling", () => {
  it("tiled output equals the whole-image output on a model with a small receptive field", async () => {
    const session = await ort.InferenceSession.create(tinyUpscaleModel({ scale: 4, mode: "linear" }));
    const image: RgbImage = { rgb: patternPixels(90, 70), width: 90, height: 70 };
    const whole = await runImageToImage(session, x4, image, noop, { tileSize: 128 });
    const progress: number[] = [];
    const tiled = await runImageToImage(
      session,
      x4,
      image,
      { ...noop, onProgress: (f) => void progress.push(f) },
      { tileSize: 32, tileOverlap: 4 },
    );
    expect([tiled.width, tiled.height]).toEqual([360, 280]);
    expect(progress.length).toBeGreaterThan(4);
    expect(progress.at(-1)).toBe(1);
    expect(maxDiff(tiled.rgb, whole.rgb).max).toBeLessThanOrEqual(1);
    await session.release();
  });

  it("cut to a tile budget, equals the whole-image output, and tells the budget of every window it ran", async () => {
    const session = await ort.InferenceSession.create(tinyUpscaleModel({ scale: 4, mode: "linear" }));
    const image: RgbImage = { rgb: patternPixels(300, 200), width: 300, height: 200 };
    const whole = await runImageToImage(session, x4, image, noop, { tileSize: 512 });
    const windows: number[] = [];
    const tileBudget: TileBudget = {
      maxWindowPixels: () => 10_000,
      record: (_, window) => void windows.push(window.width * window.height),
    };
    const tiled = await runImageToImage(session, x4, image, { ...noop, tileBudget }, { tileSize: 512, tileOverlap: 4 });
    expect(windows.length).toBeGreaterThan(1);
    expect(Math.max(...windows)).toBeLessThanOrEqual(10_000);
    expect(maxDiff(tiled.rgb, whole.rgb).max).toBeLessThanOrEqual(1);
    await session.release();
  });

  it("blends a ×1 model's output with its input by the weight, as 8-bit, from 8-bit or float input", async () => {
    // output = clip(2·input, 0, 1): blended by w it is x + w·(min(2x, 1) − x).
    const session = await ort.InferenceSession.create(tinyEnhanceModel({ gain: 2 }));
    const x1 = testContract({ tileSize: 32, tileOverlap: 4 });
    const image: RgbImage = { rgb: patternPixels(70, 50), width: 70, height: 50 };
    const float = { data: Float32Array.from(image.rgb, (v) => v / 255), width: 70, height: 50 };
    const expected = (weight: number) =>
      Buffer.from(image.rgb.map((v) => Math.round(255 * (v / 255 + weight * (Math.min((2 * v) / 255, 1) - v / 255)))));
    for (const weight of [0.25, 1]) {
      const fromBytes = await runImageToImageBlended(session, x1, image, weight, noop);
      const fromFloat = await runImageToImageBlended(session, x1, float, weight, noop);
      expect([fromBytes.width, fromBytes.height]).toEqual([70, 50]);
      // Within rounding: the clamped store rounds halves to even.
      expect(maxDiff(fromBytes.rgb, expected(weight)).max).toBeLessThanOrEqual(1);
      expect(maxDiff(fromFloat.rgb, fromBytes.rgb).max).toBeLessThanOrEqual(1);
    }
    await expect(runImageToImageBlended(session, x4, image, 0.5, noop)).rejects.toThrow(/scale 1/);
    await session.release();
  });

  it("stops between tiles when the signal aborts", async () => {
    const session = await ort.InferenceSession.create(tinyUpscaleModel({ scale: 4 }));
    const controller = new AbortController();
    const seen: number[] = [];
    const onProgress = (f: number): void => {
      seen.push(f);
      if (seen.length === 2) controller.abort(new Error("canceled by test"));
    };
    const run = runImageToImage(
      session,
      x4,
      { rgb: patternPixels(64, 64), width: 64, height: 64 },
      { signal: controller.signal, onProgress },
      { tileSize: 16, tileOverlap: 2 },
    );
    await expect(run).rejects.toThrow("canceled by test");
    expect(seen).toHaveLength(2);
    await session.release();
  });
});

describe("runImageToImage tiling with the real Real-ESRGAN model", () => {
  it("tiled output matches the whole-image output on a photo crop", async () => {
    const session = await ort.InferenceSession.create(
      path.join(REPO_MODELS_DIR, "upscale/realesr-animevideov3-x4.onnx"),
      {
        graphOptimizationLevel: "all",
      },
    );
    const { data, info } = await sharp(await readFile(path.join(TEST_IMAGES_DIR, "cat-chelsea-451x300.png")))
      .extract({ left: 150, top: 60, width: 96, height: 80 })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const image: RgbImage = { rgb: data, width: info.width, height: info.height };
    const whole = await runImageToImage(session, x4, image, noop, { tileSize: 128 });
    const tiled = await runImageToImage(session, x4, image, noop, { tileSize: 64, tileOverlap: 16 });
    const diff = maxDiff(tiled.rgb, whole.rgb);
    // The net's receptive field (~18 px) slightly exceeds the 16-px overlap; measured: max 1, mean 2e-4.
    expect(diff.mean).toBeLessThan(0.05);
    expect(diff.max).toBeLessThanOrEqual(2);
    await session.release();
  });
});

describe("borderPad, for models whose convolutions zero-pad", () => {
  it("keeps the border rows of a flat image like its inside (SCI brightening a flat grey)", async () => {
    const session = await ort.InferenceSession.create(path.join(REPO_MODELS_DIR, "enhance/sci-medium.onnx"));
    const flat: RgbImage = { rgb: Buffer.alloc(60 * 40 * 3, 20), width: 60, height: 40 };
    const spread = async (borderPad?: number): Promise<number> => {
      const contract = testContract({ tileSize: 32, tileOverlap: 4, ...(borderPad && { borderPad }) });
      const out = await runImageToImage(session, contract, flat, noop);
      const inside = out.rgb.subarray((20 * 60 + 30) * 3, (20 * 60 + 30) * 3 + 3);
      let worst = 0;
      for (let i = 0; i < out.rgb.length; i++) worst = Math.max(worst, Math.abs(out.rgb[i]! - inside[i % 3]!));
      return worst;
    };
    // Measured: without padding the outer column comes out green-magenta tinted (about 40 levels off).
    expect(await spread()).toBeGreaterThan(10);
    expect(await spread(4)).toBeLessThanOrEqual(1);
    await session.release();
  });
});
