import {
  animatedGif,
  exifRotatedJpeg,
  greyPng,
  patternImage,
  patternPixels,
  png16,
  rgbaPng,
  truncatedJpeg,
} from "@imagen/testing/images";
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
});
