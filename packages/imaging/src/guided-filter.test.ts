import { describe, expect, it } from "vitest";
import { applyCoefficients, boxMean, guidedCoefficients } from "./guided-filter.js";

function noise(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe("boxMean", () => {
  it("equals the brute-force mean over the border-clipped box", () => {
    const size = { width: 13, height: 7 };
    const src = noise(13 * 7, 1);
    const out = boxMean(src, size, 2);
    for (const [x, y] of [
      [0, 0],
      [6, 3],
      [12, 6],
      [1, 5],
    ] as const) {
      let sum = 0;
      let count = 0;
      for (let yy = Math.max(0, y - 2); yy <= Math.min(6, y + 2); yy++) {
        for (let xx = Math.max(0, x - 2); xx <= Math.min(12, x + 2); xx++, count++) sum += src[yy * 13 + xx]!;
      }
      expect(out[y * 13 + x]).toBeCloseTo(sum / count, 5);
    }
  });
});

describe("guided filter", () => {
  const width = 24;
  const height = 16;
  const rgb = Uint8Array.from(noise(width * height * 3, 7), (v) => Math.round(v * 255));
  const guide = { rgb, width, height };

  it("keeps an input that is a linear function of the guide", () => {
    const input = new Float32Array(width * height);
    for (let p = 0; p < input.length; p++) input[p] = (0.5 * rgb[p * 3]! + 0.25 * rgb[p * 3 + 2]!) / 255 + 0.1;
    const out = applyCoefficients(guidedCoefficients(guide, input, 3, 1e-6), guide);
    for (let p = 0; p < input.length; p += 17) expect(Math.abs(out[p]! - input[p]! * 255)).toBeLessThanOrEqual(1);
  });

  it("keeps a constant input and upsamples the coefficients to a larger guide", () => {
    const out = applyCoefficients(guidedCoefficients(guide, new Float32Array(width * height).fill(0.6), 2, 1e-3), {
      rgb: new Uint8Array(48 * 32 * 3).fill(90),
      width: 48,
      height: 32,
    });
    expect(out.length).toBe(48 * 32);
    expect(out.every((v) => v === 153)).toBe(true);
  });
});
