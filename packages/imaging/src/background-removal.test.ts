import sharp from "sharp";
import { exifRotatedJpeg, patternImage, patternPixels } from "@imagen/testing/images";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTinyPipelines, idle } from "../test/model-fixtures.js";
import { ALPHA_LEVELS, planMaskInput, refineMask } from "./background-removal.js";
import type { Pipelines } from "./pipelines.js";

const cutout = { output: "cutout", background: "#ffffff" } as const;

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

/** Left half black, right half white: the tiny mask model (channel mean) gives 0 | 1. */
function halves(width: number, height: number): Promise<Buffer> {
  const rgb = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) if (p % width >= width / 2) rgb.fill(255, p * 3, p * 3 + 3);
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

function channel(image: Raw, x: number, y: number, c: number): number {
  return image.data[(y * image.width + x) * image.channels + c]!;
}

describe("background removal", () => {
  let fixture: Awaited<ReturnType<typeof createTinyPipelines>>;
  let pipelines: Pipelines;
  beforeAll(async () => {
    fixture = await createTinyPipelines();
    pipelines = fixture.pipelines;
  });
  afterAll(() => fixture.close());

  it("plans an aspect-preserving resize to the tile size, padded evenly to the multiple", () => {
    const contract = fixture.manifest.models.find((m) => m.id === "tiny-mask")!.contract;
    expect(planMaskInput(333, 201, contract)).toEqual({
      resized: { width: 320, height: 193 },
      padded: { width: 320, height: 224 },
      offset: { x: 0, y: 15 },
    });
    expect(planMaskInput(40, 1000, contract).padded).toEqual({ width: 32, height: 320 });
  });

  it("cuts out RGBA at the input's size: transparent where the mask is 0, opaque where it is 1", async () => {
    const result = await pipelines.run("background-removal", await halves(96, 64), cutout, idle);
    expect([result.format, result.width, result.height]).toEqual(["png", 96, 64]);
    const out = await raw(result.data);
    expect([out.width, out.height, out.channels]).toEqual([96, 64, 4]);
    for (const y of [0, 31, 63]) {
      for (const x of [0, 20, 44]) expect(channel(out, x, y, 3)).toBeLessThanOrEqual(2);
      for (const x of [51, 70, 95]) expect(channel(out, x, y, 3)).toBeGreaterThanOrEqual(253);
    }
    expect(channel(out, 70, 10, 0)).toBe(255);
  });

  it("gives an alpha equal to the model's mask (channel mean) on a detailed image", async () => {
    const [width, height] = [120, 90];
    const out = await raw(
      (await pipelines.run("background-removal", await patternImage({ width, height }), cutout, idle)).data,
    );
    const rgb = patternPixels(width, height);
    const [lo, hi] = ALPHA_LEVELS;
    let sum = 0;
    for (let p = 0; p < width * height; p++) {
      const mean = (rgb[p * 3]! + rgb[p * 3 + 1]! + rgb[p * 3 + 2]!) / 3 / 255;
      const expected = 255 * Math.min(1, Math.max(0, (mean - lo) / (hi - lo)));
      sum += Math.abs(out.data[p * 4 + 3]! - expected);
    }
    // The model sees a 320-px resize, so the mask comes back through two resizes and the filter.
    expect(sum / (width * height)).toBeLessThan(4);
  });

  it("outputs the mask as a one-channel greyscale image", async () => {
    const input = await halves(96, 64);
    const result = await pipelines.run("background-removal", input, { ...cutout, output: "mask" }, idle);
    expect(result.format).toBe("png");
    const meta = await sharp(result.data).metadata();
    expect([meta.width, meta.height, meta.channels, meta.space]).toEqual([96, 64, 1, "b-w"]);
    const out = await raw(result.data);
    expect([channel(out, 10, 5, 0), channel(out, 90, 5, 0)]).toEqual([0, 255]);
    const jpeg = await pipelines.run("background-removal", input, { ...cutout, output: "mask", format: "jpeg" }, idle);
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

  it("refines on a reduced copy above a megapixel and still fills the full size", async () => {
    const [width, height] = [1200, 900];
    const rgb = Buffer.alloc(width * height * 3);
    for (let p = 0; p < width * height; p++) if (p % width >= width / 2) rgb.fill(255, p * 3, p * 3 + 3);
    const small = Buffer.alloc(320 * 240);
    for (let p = 0; p < small.length; p++) if (p % 320 >= 160) small[p] = 255;
    const mask = await refineMask({ data: small, width: 320, height: 240 }, { rgb, width, height });
    expect([mask.width, mask.height, mask.data.length]).toEqual([width, height, width * height]);
    const row = 450 * width;
    expect([mask.data[row + 10], mask.data[row + 590], mask.data[row + 610], mask.data[row + 1190]]).toEqual([
      0, 0, 255, 255,
    ]);
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
    expect(seen).toEqual([0.5]);
  });
});
