import { afterAll, describe, expect, it } from "vitest";
import { applyCoefficients, applyTrimap, boxMean, estimateForeground, resizePlane, trimapOf } from "./guided-filter.js";
import { guidedCoefficients } from "./guided-filter-graph.js";
import { createSessionCache } from "./sessions.js";

const graphs = createSessionCache({ executionProvider: "cpu", intraOpNumThreads: 1 });
afterAll(() => graphs.close());

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

  it("keeps an input that is a linear function of the guide", async () => {
    const input = new Float32Array(width * height);
    for (let p = 0; p < input.length; p++) input[p] = (0.5 * rgb[p * 3]! + 0.25 * rgb[p * 3 + 2]!) / 255 + 0.1;
    const out = applyCoefficients(await guidedCoefficients(graphs, guide, input, 3, 1e-6), guide);
    for (let p = 0; p < input.length; p += 17) expect(Math.abs(out[p]! - input[p]! * 255)).toBeLessThanOrEqual(1);
  });

  it("keeps a constant input and upsamples the coefficients to a larger guide", async () => {
    const constant = new Float32Array(width * height).fill(0.6);
    const out = applyCoefficients(await guidedCoefficients(graphs, guide, constant, 2, 1e-3), {
      rgb: new Uint8Array(48 * 32 * 3).fill(90),
      width: 48,
      height: 32,
    });
    expect(out.length).toBe(48 * 32);
    expect(out.every((v) => v === 153)).toBe(true);
  });
});

describe("applyCoefficients with levels and a trimap", () => {
  it("equals the plain filter followed by the levels and the trimap, at a larger guide too", async () => {
    const [width, height] = [30, 20];
    const rgb = Uint8Array.from(noise(width * height * 3, 3), (v) => Math.round(v * 255));
    const mask = {
      data: Float32Array.from({ length: width * height }, (_, p) => ((p % width) / width) ** 2),
      width,
      height,
    };
    const coefficients = await guidedCoefficients(graphs, { rgb, width, height }, mask.data, 2, 1e-3);
    const big = { rgb: Uint8Array.from(noise(60 * 40 * 3, 9), (v) => Math.round(v * 255)), width: 60, height: 40 };
    const fused = applyCoefficients(coefficients, big, { levels: [0.1, 0.9], trimap: trimapOf(mask, 3) });
    const plain = applyCoefficients(coefficients, big);
    for (let i = 0; i < plain.length; i++) {
      const t = (plain[i]! / 255 - 0.1) / 0.8;
      plain[i] = t <= 0 ? 0 : t >= 1 ? 255 : Math.round(t * 255);
    }
    applyTrimap(plain, big, mask, 3);
    let soft = 0;
    for (let i = 0; i < plain.length; i++) {
      // The fused path rounds once, the reference twice.
      expect(Math.abs(fused[i]! - plain[i]!)).toBeLessThanOrEqual(2);
      if (fused[i]! > 0 && fused[i]! < 255) soft++;
    }
    expect(soft).toBeGreaterThan(0);
  });
});

// Straightforward references: brute-force clipped box means, the textbook guided filter, in double.
function bruteBoxMean(src: ArrayLike<number>, width: number, height: number, r: number): Float64Array {
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let [sum, count] = [0, 0];
      for (let yy = Math.max(0, y - r); yy <= Math.min(height - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(width - 1, x + r); xx++, count++) sum += src[yy * width + xx]!;
      }
      out[y * width + x] = sum / count;
    }
  }
  return out;
}

function referenceCoefficients(rgb: Uint8Array, input: Float32Array, width: number, height: number, r: number) {
  const eps = 1e-3;
  const n = width * height;
  const mean = (f: (p: number) => number) =>
    bruteBoxMean(
      Float64Array.from({ length: n }, (_, p) => f(p)),
      width,
      height,
      r,
    );
  const I = [0, 1, 2].map((c) => Float64Array.from({ length: n }, (_, p) => rgb[p * 3 + c]! / 255));
  const mI = I.map((c) => mean((p) => c[p]!));
  const mP = mean((p) => input[p]!);
  const cov = I.map((c, k) => mean((p) => c[p]! * input[p]!).map((v, p) => v - mI[k]![p]! * mP[p]!));
  const sigma = I.map((a, i) => I.map((b, j) => mean((p) => a[p]! * b[p]!).map((v, p) => v - mI[i]![p]! * mI[j]![p]!)));
  const a = [0, 1, 2].map(() => new Float64Array(n));
  const b = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const m = sigma.map((row, i) => row.map((plane, j) => plane[p]! + (i === j ? eps : 0)));
    const x = solveByCramer(
      m,
      cov.map((c) => c[p]!),
    );
    x.forEach((v, k) => (a[k]![p] = v));
    b[p] = mP[p]! - x[0]! * mI[0]![p]! - x[1]! * mI[1]![p]! - x[2]! * mI[2]![p]!;
  }
  return [...a, b].map((plane) => bruteBoxMean(plane, width, height, r));
}

function solveByCramer(m: number[][], c: number[]): number[] {
  const det3 = (q: number[][]): number =>
    q[0]![0]! * (q[1]![1]! * q[2]![2]! - q[1]![2]! * q[2]![1]!) -
    q[0]![1]! * (q[1]![0]! * q[2]![2]! - q[1]![2]! * q[2]![0]!) +
    q[0]![2]! * (q[1]![0]! * q[2]![1]! - q[1]![1]! * q[2]![0]!);
  const det = det3(m);
  return [0, 1, 2].map((k) => det3(m.map((row, i) => row.map((v, j) => (j === k ? c[i]! : v)))) / det);
}

describe("optimised filter against a brute-force reference", () => {
  const [width, height] = [37, 23];
  const rgb = Uint8Array.from(noise(width * height * 3, 11), (v) => Math.round(v * 255));
  const input = noise(width * height, 5);

  it.each([1, 2, 5, 12, 40])("boxMean matches at radius %i, in place too", (radius) => {
    const expected = bruteBoxMean(input, width, height, radius);
    const inPlace = input.slice();
    boxMean(inPlace, { width, height }, radius, inPlace);
    for (const out of [boxMean(input, { width, height }, radius), inPlace]) {
      out.forEach((v, p) => expect(Math.abs(v - expected[p]!)).toBeLessThan(1e-5));
    }
  });

  // The graph runs in float32, the reference in float64.
  it.each([1, 2, 5, 12, 40])("the guided-filter graph's coefficients match at radius %i", async (radius) => {
    const expected = referenceCoefficients(rgb, input, width, height, radius);
    const { planes } = await guidedCoefficients(graphs, { rgb, width, height }, input, radius, 1e-3);
    planes.forEach((plane, c) =>
      plane.forEach((v, p) => {
        const e = expected[c]![p]!;
        expect(Math.abs(v - e)).toBeLessThan(5e-5 * Math.max(1, Math.abs(e)));
      }),
    );
  });
});

describe("resizePlane", () => {
  it("copies at the same size and interpolates bilinearly between pixel centres", () => {
    const plane = { data: Float32Array.from([0, 1, 2, 3]), width: 2, height: 2 };
    const same = resizePlane(plane, { width: 2, height: 2 });
    expect([...same.data]).toEqual([0, 1, 2, 3]);
    expect(same.data).not.toBe(plane.data);
    const big = resizePlane(plane, { width: 4, height: 4 });
    // Corners repeat the edge; (1,1) sits a quarter of the way from pixel (0,0) to (1,1).
    expect([big.data[0], big.data[3], big.data[12], big.data[15]]).toEqual([0, 1, 2, 3]);
    expect(big.data[5]).toBeCloseTo(0.25 * 1 + 0.25 * 2, 5);
  });
});

describe("estimateForeground", () => {
  // A red subject on a green background, blended by an alpha ramp across the middle columns.
  const [width, height] = [40, 8];
  const alphaAt = (x: number): number => Math.min(1, Math.max(0, (x - 14) / 12));
  const alpha = Uint8Array.from({ length: width * height }, (_, p) => Math.round(alphaAt(p % width) * 255));
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const a = alpha[p]! / 255;
    rgb.set([Math.round(a * 220 + (1 - a) * 30), Math.round(a * 20 + (1 - a) * 200), 40], p * 3);
  }
  const image = { rgb, width, height };
  const mask = { data: Float32Array.from(alpha, (a) => a / 255), width, height };

  it("recovers the subject's colour in the soft edge, where the observed colour is a blend", () => {
    const out = estimateForeground(image, alpha, image, mask, 16);
    for (const x of [16, 20, 24]) {
      const i = (4 * width + x) * 3;
      expect(Math.abs(out[i]! - 220)).toBeLessThanOrEqual(3);
      expect(Math.abs(out[i + 1]! - 20)).toBeLessThanOrEqual(3);
      // The input there is visibly greener.
      expect(rgb[i + 1]! - out[i + 1]!).toBeGreaterThan(20);
    }
  });

  it("keeps opaque and transparent pixels, and edges with no clear background nearby", () => {
    const out = estimateForeground(image, alpha, image, mask, 16);
    for (const x of [2, 30, 39])
      expect([...out.subarray((4 * width + x) * 3, (4 * width + x) * 3 + 3)]).toEqual([
        ...rgb.subarray((4 * width + x) * 3, (4 * width + x) * 3 + 3),
      ]);
    const noBackground = { ...mask, data: mask.data.map((v) => Math.max(v, 0.5)) };
    expect(estimateForeground(image, alpha, image, noBackground, 16).equals(Buffer.from(rgb))).toBe(true);
  });
});
