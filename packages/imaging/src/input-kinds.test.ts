import sharp from "sharp";
import type { OpName } from "@imagen/core";
import { patternPixels } from "@imagen/testing/images";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTinyPipelines, idle } from "../test/model-fixtures.js";
import { decodeImage } from "./decode.js";
import type { Pipelines } from "./pipelines.js";

const W = 24;
const H = 16;

/** Alpha 0 on the left half, 255 on the right. */
const alphaAt = (p: number): number => (p % W < W / 2 ? 0 : 255);

function withAlpha(rgb: Buffer): Buffer {
  const rgba = Buffer.alloc(W * H * 4);
  for (let p = 0; p < W * H; p++) {
    rgb.copy(rgba, p * 4, p * 3, p * 3 + 3);
    rgba[p * 4 + 3] = alphaAt(p);
  }
  return rgba;
}

function greyOf(rgb: Buffer): Buffer {
  const grey = Buffer.alloc(W * H);
  for (let p = 0; p < grey.length; p++) grey[p] = rgb[p * 3 + 1]!;
  return grey;
}

interface Kind {
  /** The encoded input. */
  make(): Promise<Buffer>;
  /** The 8-bit sRGB pixels the model should see, within `tolerance` (mean absolute difference). */
  expected: Buffer;
  tolerance: number;
  hasAlpha: boolean;
}

const RGB = patternPixels(W, H);
const GREY_RGB = Buffer.from([...greyOf(RGB)].flatMap((v) => [v, v, v]));
const raw = (channels: 1 | 2 | 3 | 4) => ({ raw: { width: W, height: H, channels } });

const KINDS: Record<string, Kind> = {
  "16-bit RGBA png": {
    make: () => {
      const wide = Uint16Array.from(withAlpha(RGB), (v) => v * 257);
      return sharp(wide, raw(4)).toColourspace("rgb16").png().toBuffer();
    },
    expected: RGB,
    tolerance: 0.01,
    hasAlpha: true,
  },
  "greyscale png": {
    make: () => sharp(greyOf(RGB), raw(1)).toColourspace("b-w").png().toBuffer(),
    expected: GREY_RGB,
    tolerance: 0.01,
    hasAlpha: false,
  },
  "greyscale + alpha png": {
    make: () => {
      const grey = greyOf(RGB);
      const ga = Buffer.alloc(W * H * 2);
      for (let p = 0; p < W * H; p++) [ga[p * 2], ga[p * 2 + 1]] = [grey[p]!, alphaAt(p)];
      return sharp(ga, raw(2)).toColourspace("b-w").png().toBuffer();
    },
    expected: GREY_RGB,
    tolerance: 0.01,
    hasAlpha: true,
  },
  // Made here rather than in @imagen/testing: sharp converts with its built-in CMYK profile both ways.
  // The pattern's saturated corners lie outside that CMYK gamut, hence the loose tolerance; reading
  // the four channels as RGB(A), or inverting them naively, is off by far more.
  "CMYK jpeg": {
    make: () => sharp(RGB, raw(3)).toColourspace("cmyk").jpeg({ quality: 95, chromaSubsampling: "4:4:4" }).toBuffer(),
    expected: RGB,
    tolerance: 25,
    hasAlpha: false,
  },
  "palette png": {
    make: () => sharp(RGB, raw(3)).png({ palette: true, colours: 256, dither: 0 }).toBuffer(),
    expected: RGB,
    tolerance: 6,
    hasAlpha: false,
  },
  "palette png with transparency": {
    make: () => sharp(withAlpha(RGB), raw(4)).png({ palette: true, colours: 256, dither: 0 }).toBuffer(),
    expected: RGB,
    tolerance: 6,
    hasAlpha: true,
  },
  "animated webp (first frame)": {
    make: async () => {
      const first = await sharp(withAlpha(RGB), raw(4)).png().toBuffer();
      const second = await sharp({ create: { width: W, height: H, channels: 4, background: "#00ff00" } })
        .png()
        .toBuffer();
      return sharp([first, second], { join: { animated: true } })
        .webp({ lossless: true })
        .toBuffer();
    },
    expected: RGB,
    // Lossless webp drops the colour of fully transparent pixels; compare the opaque half only.
    tolerance: 0.01,
    hasAlpha: true,
  },
};

async function rawOf(png: Buffer): Promise<{ data: Buffer; channels: number; width: number; height: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, channels: info.channels, width: info.width, height: info.height };
}

function meanAbsDiff(a: Buffer, b: Buffer, keep: (p: number) => boolean): number {
  let sum = 0;
  let n = 0;
  for (let p = 0; p < W * H; p++) {
    if (!keep(p)) continue;
    for (let c = 0; c < 3; c++) sum += Math.abs(a[p * 3 + c]! - b[p * 3 + c]!);
    n += 3;
  }
  return sum / n;
}

describe.each(Object.entries(KINDS))("a %s input", (_name, kind) => {
  let fixture: Awaited<ReturnType<typeof createTinyPipelines>>;
  let pipelines: Pipelines;
  let input: Buffer;
  const opaqueOnly = (p: number): boolean => !kind.hasAlpha || alphaAt(p) === 255;
  beforeAll(async () => {
    fixture = await createTinyPipelines({ tiles: { tileSize: 32, tileOverlap: 4 } });
    pipelines = fixture.pipelines;
    input = await kind.make();
  });
  afterAll(() => fixture.close());

  it("decodes to the 8-bit sRGB pixels the model should see", async () => {
    const decoded = await decodeImage(input, { maxInputPixels: 1_000_000 });
    expect([decoded.width, decoded.height, decoded.alpha !== null]).toEqual([W, H, kind.hasAlpha]);
    expect(meanAbsDiff(decoded.rgb, kind.expected, opaqueOnly)).toBeLessThanOrEqual(kind.tolerance);
    if (decoded.alpha) expect([decoded.alpha[0], decoded.alpha[W - 1]]).toEqual([0, 255]);
  });

  it.each([
    ["upscale", { scale: 4 }, 4],
    ["enhance", { mode: "low-light", strength: 0, denoise: 0 }, 1],
    ["comic", { style: "ink" }, 1],
  ] as const)("%s keeps the alpha channel, at the output's size", async (op: OpName, options, scale) => {
    const result = await pipelines.run(op, input, { ...options, format: "png" }, idle);
    const out = await rawOf(result.data);
    expect([out.width, out.height, out.channels]).toEqual([W * scale, H * scale, kind.hasAlpha ? 4 : 3]);
    if (!kind.hasAlpha) return;
    const alphaOut = (x: number, y: number): number => out.data[(y * out.width + x) * 4 + 3]!;
    expect(alphaOut(0, 0)).toBeLessThan(8);
    expect(alphaOut(out.width - 1, out.height - 1)).toBeGreaterThan(247);
  });

  it("enhance at strength 0 returns the converted input itself", async () => {
    const result = await pipelines.run(
      "enhance",
      input,
      { mode: "low-light", strength: 0, denoise: 0, format: "png" },
      idle,
    );
    const { data } = await sharp(result.data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(meanAbsDiff(data, kind.expected, opaqueOnly)).toBeLessThanOrEqual(kind.tolerance);
  });

  it("background-removal multiplies the input's alpha into the cutout", async () => {
    const options = { output: "cutout", background: "#ffffff", format: "png" } as const;
    const out = await rawOf((await pipelines.run("background-removal", input, options, idle)).data);
    expect([out.width, out.height, out.channels]).toEqual([W, H, 4]);
    if (kind.hasAlpha) expect(out.data[3]).toBe(0);
  });
});
