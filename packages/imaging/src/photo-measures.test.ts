import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { rgbPixels, withGaussianNoise, type Pixels } from "../test/image-metrics.js";
import { TEST_IMAGES_DIR } from "../test/model-fixtures.js";
import type { RgbImage } from "./image-to-image.js";
import { estimateNoise, measureExposure } from "./photo-measures.js";

const rgbOf = (p: Pixels): RgbImage => ({ rgb: p.data, width: p.width, height: p.height });

/** A 3-channel image whose every sample is `value(x, y)`. */
function grey(width: number, height: number, value: (x: number, y: number) => number): Pixels {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.fill(Math.round(value(x, y)), (y * width + x) * 3, (y * width + x) * 3 + 3);
  }
  return { data, width, height, channels: 3 };
}

describe("measureExposure", () => {
  it("reads the mean, median and 99th percentile of the luma and the clipped share", () => {
    // 90 % at 40, 10 % white.
    const image = grey(100, 10, (x) => (x < 90 ? 40 : 255));
    const m = measureExposure(rgbOf(image));
    expect(m.meanLuma).toBeCloseTo(0.9 * 40 + 0.1 * 255, 5);
    expect(m.medianLuma).toBe(40);
    expect(m.p99Luma).toBe(255);
    expect(m.clippedShare).toBeCloseTo(0.1, 5);
  });
});

describe("estimateNoise", () => {
  it("reads Gaussian noise on a flat image at its σ, at both scales", () => {
    const noisy = withGaussianNoise(
      grey(300, 200, () => 128),
      10,
      3,
    );
    const e = estimateNoise(rgbOf(noisy));
    expect(e.fine).toBeGreaterThan(9.5);
    expect(e.fine).toBeLessThan(10.5);
    expect(e.coarse).toBeGreaterThan(9);
    expect(e.coarse).toBeLessThan(11);
    for (const c of e.channels) expect(Math.abs(c - 10)).toBeLessThan(0.6);
  });

  it("reads a clean linear ramp as noise-free, but for its 8-bit rounding", () => {
    // The mask is blind to ramps; what is left is rounding, whose σ is at most 1/√12 ≈ 0.29 per sample.
    const e = estimateNoise(rgbOf(grey(300, 200, (x, y) => 20 + x * 0.5 + y * 0.3)));
    expect(e.fine).toBeLessThan(0.6);
  });

  it("ignores strong edges: noise on a checkerboard of 16-pixel squares reads at its σ", () => {
    const board = grey(320, 240, (x, y) => (((x >> 4) + (y >> 4)) % 2 === 0 ? 60 : 190));
    const e = estimateNoise(rgbOf(withGaussianNoise(board, 5, 9)));
    expect(e.fine).toBeGreaterThan(4.6);
    expect(e.fine).toBeLessThan(5.4);
  });

  it("skips clipped neighbourhoods, so noise on a dark image is not read low", () => {
    const dark = withGaussianNoise(
      grey(300, 200, () => 18),
      10,
      4,
    );
    const e = estimateNoise(rgbOf(dark));
    expect(e.fine).toBeGreaterThan(9);
    expect(e.fine).toBeLessThan(10.5);
  });

  it("samples photos over 0.3 MP in regions and still reads their σ", () => {
    const big = withGaussianNoise(
      grey(1400, 1000, (x, y) => 100 + 50 * Math.sin(x / 90) * Math.cos(y / 70)),
      7,
      5,
    );
    const started = performance.now();
    const e = estimateNoise(rgbOf(big));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(Math.abs(e.fine - 7)).toBeLessThan(0.4);
  });

  it("reads the clean test photos as clean and the same photos with σ = 25 noise at about 25", async () => {
    for (const name of ["coffee-600x400.png", "cat-chelsea-451x300.png", "portrait-astronaut-512x512.png"]) {
      const clean = await rgbPixels(path.join(TEST_IMAGES_DIR, name));
      // Measured 1.3–2.0: texture and the photos' own grain, well under the denoise threshold of 4.
      expect(estimateNoise(rgbOf(clean)).fine).toBeLessThan(2.5);
      const noisy = estimateNoise(rgbOf(withGaussianNoise(clean, 25, 11)));
      expect(Math.abs(noisy.fine - 25)).toBeLessThan(1.5);
    }
  });

  it("reads an image too small or too flat to measure as 0", () => {
    expect(estimateNoise(rgbOf(grey(4, 4, () => 50))).fine).toBe(0);
    expect(estimateNoise(rgbOf(grey(64, 64, () => 255))).fine).toBe(0);
  });
});
