import { patternPixels } from "@imagen/testing/images";
import { describe, expect, it } from "vitest";
import { hwcToNchw, imageToTensor, nchwToHwc, tensorToImage, unitToBytes } from "./tensor.js";

describe("tensor conversion", () => {
  it.each([[[0, 1]], [[0, 255]]] as const)("round-trips HWC uint8 through NCHW float32 in range %j", (range) => {
    const rgb = patternPixels(13, 7);
    const tensor = imageToTensor(rgb, 13, 7, range);
    expect(tensor.length).toBe(13 * 7 * 3);
    expect(tensor[13 * 7]).toBeCloseTo((rgb[1]! / 255) * range[1]); // first green value starts plane 2
    expect(Buffer.from(tensorToImage(tensor, 13, 7, range)).equals(rgb)).toBe(true);
  });

  it("pads a window past the image by repeating the edge", () => {
    const rgb = Buffer.from([10, 20, 30, 40, 50, 60]); // 2×1 image
    const dst = new Float32Array(3 * 4);
    hwcToNchw(rgb, { width: 2, height: 1 }, { x: -1, y: 0, width: 4, height: 1 }, dst, [0, 255]);
    expect([...dst.subarray(0, 4)]).toEqual([10, 10, 40, 40]);
  });

  it("writes into the caller's buffer and rejects one that is too small", () => {
    const dst = new Float32Array(12);
    expect(imageToTensor(patternPixels(2, 2), 2, 2, [0, 1], dst)).toBe(dst);
    expect(() =>
      hwcToNchw(patternPixels(4, 4), { width: 4, height: 4 }, { x: 0, y: 0, width: 4, height: 4 }, dst, [0, 1]),
    ).toThrow(RangeError);
  });

  it("clamps out-of-range and NaN model output instead of wrapping", () => {
    const data = new Float32Array([1.6, -0.2, Number.NaN]);
    const out = Buffer.alloc(3);
    nchwToHwc(
      data,
      { width: 1, height: 1 },
      { x: 0, y: 0, width: 1, height: 1 },
      out,
      { width: 1 },
      { x: 0, y: 0 },
      [0, 1],
    );
    expect([...out]).toEqual([255, 0, 0]);
  });
});

describe("unitToBytes", () => {
  it("maps 0..1 to 0..255, rounding, and clamps what lies outside (NaN to 0)", () => {
    const bytes = unitToBytes(Float32Array.from([0, 1, 0.5, 0.2, -0.3, 1.7, Number.NaN]));
    expect([...bytes]).toEqual([0, 255, 128, 51, 0, 255, 0]);
  });
});
