import {
  animatedGif,
  cmykJpeg,
  exifRotatedJpeg,
  greyPng,
  largeAvif,
  manyFrames,
  patternImage,
  patternPixels,
  pixelBomb,
  png16,
  rgbaPng,
  scanBombJpeg,
  tiff16,
  truncatedJpeg,
} from "@imagen/testing/images";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeImage } from "./decode.js";

const limits = { maxInputPixels: 1_000_000 };

describe("decodeImage", () => {
  it("decodes a png to the exact HWC RGB pixels", async () => {
    const decoded = await decodeImage(await patternImage({ width: 20, height: 10 }), limits);
    expect(decoded).toMatchObject({ width: 20, height: 10, alpha: null });
    expect(decoded.rgb.equals(patternPixels(20, 10))).toBe(true);
  });

  it("splits RGBA into RGB and one alpha channel", async () => {
    const decoded = await decodeImage(await rgbaPng({ width: 16, height: 4 }), limits);
    expect(decoded.rgb.length).toBe(16 * 4 * 3);
    expect(decoded.alpha?.length).toBe(16 * 4);
    expect([decoded.alpha?.[0], decoded.alpha?.[15]]).toEqual([0, 255]);
  });

  it("applies EXIF orientation 6 (90° clockwise)", async () => {
    const decoded = await decodeImage(await exifRotatedJpeg({ width: 60, height: 20 }), limits);
    expect([decoded.width, decoded.height]).toEqual([20, 60]);
    // Stored top-left (red 0, green 0) lands top-right after a clockwise turn.
    const topRight = (20 - 1) * 3;
    expect(decoded.rgb[topRight]).toBeLessThan(30);
    expect(decoded.rgb[topRight + 1]).toBeLessThan(30);
  });

  it("turns 16-bit and greyscale inputs into 8-bit RGB", async () => {
    const wide = await decodeImage(await png16({ width: 8, height: 8 }), limits);
    expect(wide.rgb.length).toBe(8 * 8 * 3);
    expect(wide.rgb.subarray(0, 24).equals(patternPixels(8, 8).subarray(0, 24))).toBe(true);
    const grey = await decodeImage(await greyPng({ width: 8, height: 2 }), limits);
    expect(grey.rgb.length).toBe(8 * 2 * 3);
    expect([grey.rgb[21], grey.rgb[22], grey.rgb[23]]).toEqual([255, 255, 255]);
  });

  it("decodes only the first frame of an animated gif", async () => {
    const decoded = await decodeImage(await animatedGif({ width: 8, height: 8, frames: 3 }), limits);
    expect([decoded.width, decoded.height]).toEqual([8, 8]);
    expect([decoded.rgb[0], decoded.rgb[1], decoded.rgb[2]]).toEqual([255, 0, 0]);
  });

  it("refuses a truncated jpeg with UNSUPPORTED_IMAGE", async () => {
    await expect(decodeImage(await truncatedJpeg({ width: 64, height: 64 }), limits)).rejects.toMatchObject({
      code: "UNSUPPORTED_IMAGE",
      name: "PermanentJobError",
    });
  });

  it("refuses an image over the pixel limit with IMAGE_TOO_LARGE", async () => {
    await expect(
      decodeImage(await patternImage({ width: 40, height: 40 }), { maxInputPixels: 100 }),
    ).rejects.toMatchObject({
      code: "IMAGE_TOO_LARGE",
    });
  });

  it("turns CMYK jpeg and 16-bit tiff into 8-bit RGB", async () => {
    for (const input of [await cmykJpeg({ width: 32, height: 24 }), await tiff16({ width: 32, height: 24 })]) {
      const decoded = await decodeImage(input, limits);
      expect([decoded.width, decoded.height, decoded.rgb.length, decoded.alpha]).toEqual([32, 24, 32 * 24 * 3, null]);
    }
    const avif = await decodeImage(await largeAvif({ width: 32, height: 24, bitDepth: 12 }), limits);
    expect(avif.rgb.length).toBe(32 * 24 * 3);
  });

  it("decodes only the first frame of an animated webp of many frames", async () => {
    const decoded = await decodeImage(await manyFrames({ format: "webp", width: 16, height: 16, frames: 60 }), limits);
    expect([decoded.width, decoded.height]).toEqual([16, 16]);
    expect(decoded.rgb[0]).toBeGreaterThan(200);
    expect(decoded.rgb[1]).toBeLessThan(50);
  });

  it.each(["png", "jpeg", "webp", "avif", "gif", "tiff"] as const)(
    "refuses a %s pixel bomb itself with IMAGE_TOO_LARGE, should the probe be skipped",
    async (format) => {
      await expect(decodeImage(await pixelBomb(format), { maxInputPixels: 40_000_000 })).rejects.toMatchObject({
        code: "IMAGE_TOO_LARGE",
        name: "PermanentJobError",
      });
    },
  );

  it("stops a decode still running at its time limit with IMAGE_TOO_LARGE, leaving no libvips work behind", async () => {
    // Seconds of work on any machine: 8000 passes over 62 500 blocks (the probe refuses this file by its scans).
    const slow = scanBombJpeg({ width: 2000, height: 2000, scans: 8000 });
    const err: unknown = await decodeImage(slow, { maxInputPixels: 40_000_000, decodeTimeoutS: 1 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "IMAGE_TOO_LARGE", name: "PermanentJobError" });
    expect((err as Error).message).toMatch(/decodes within 1 s but decoding was stopped at \d+% after 1 s/);
    expect(sharp.counters()).toEqual({ queue: 0, process: 0 });
    const next = await decodeImage(await patternImage({ width: 20, height: 10 }), { ...limits, decodeTimeoutS: 1 });
    expect(next.rgb.equals(patternPixels(20, 10))).toBe(true);
  });
});
