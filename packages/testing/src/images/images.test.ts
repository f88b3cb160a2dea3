import sharp from "sharp";
import { describe, expect, it } from "vitest";
import {
  animatedGif,
  decompressionBombPng,
  exifRotatedJpeg,
  greyPng,
  notAnImage,
  patternImage,
  png16,
  rgbaPng,
  truncatedJpeg,
} from "./index.js";

describe("image fixtures", () => {
  it.each(["png", "jpeg", "webp", "avif", "gif", "tiff"] as const)("encodes the pattern as %s", async (format) => {
    const meta = await sharp(await patternImage({ width: 40, height: 24, format })).metadata();
    expect(meta.format).toBe(format === "avif" ? "heif" : format);
    expect([meta.width, meta.height]).toEqual([40, 24]);
  });

  it("makes an RGBA png with a real alpha ramp", async () => {
    const { data, info } = await sharp(await rgbaPng({ width: 16, height: 4 }))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    expect([data[3], data[15 * 4 + 3]]).toEqual([0, 255]);
  });

  it("makes a jpeg with EXIF orientation 6", async () => {
    const meta = await sharp(await exifRotatedJpeg({ width: 40, height: 20 })).metadata();
    expect([meta.orientation, meta.width, meta.height]).toEqual([6, 40, 20]);
  });

  it("makes 16-bit, greyscale and animated images", async () => {
    expect((await sharp(await png16({ width: 8, height: 8 })).metadata()).depth).toBe("ushort");
    expect((await sharp(await greyPng({ width: 8, height: 8 })).metadata()).channels).toBe(1);
    expect((await sharp(await animatedGif({ width: 8, height: 8, frames: 3 })).metadata()).pages).toBe(3);
  });

  it("makes broken inputs: truncated jpeg and text", async () => {
    await expect(
      sharp(await truncatedJpeg({ width: 64, height: 64 }), { failOn: "truncated" })
        .raw()
        .toBuffer(),
    ).rejects.toThrow();
    await expect(sharp(notAnImage()).metadata()).rejects.toThrow();
  });

  it("makes a small PNG whose header claims 65536×65536", async () => {
    const bomb = decompressionBombPng();
    expect(bomb.length).toBeLessThan(300_000);
    const meta = await sharp(bomb, { limitInputPixels: false }).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 65536, 65536]);
  });
});
