import sharp from "sharp";
import { describe, expect, it } from "vitest";
import {
  BOMB_SIZES,
  animatedGif,
  cmykJpeg,
  decompressionBombPng,
  exifRotatedJpeg,
  greyPng,
  largeAvif,
  largeJpeg,
  manyFrames,
  notAnImage,
  patternImage,
  pixelBomb,
  png16,
  rgbaPng,
  scanBombJpeg,
  tiff16,
  truncatedJpeg,
  uniformJpeg,
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

  it.each(["png", "jpeg", "webp", "avif", "gif", "tiff"] as const)(
    "makes a %s pixel bomb: a few hundred bytes declaring its format's largest size",
    async (format) => {
      const bomb = await pixelBomb(format);
      expect(bomb.length).toBeLessThan(1000);
      const meta = await sharp(bomb, { limitInputPixels: false }).metadata();
      expect(meta.format).toBe(format === "avif" ? "heif" : format);
      expect({ width: meta.width, height: meta.height }).toEqual(BOMB_SIZES[format]);
    },
  );

  it("makes a pixel bomb of a chosen size", async () => {
    const meta = await sharp(await pixelBomb("avif", { width: 6000, height: 5000 })).metadata();
    expect([meta.width, meta.height]).toEqual([6000, 5000]);
  });

  it("writes a complete uniform jpeg without an encoder: 20000×14000 in about 2 MB", async () => {
    const big = uniformJpeg();
    expect(big.length).toBeLessThan(2_500_000);
    const meta = await sharp(big, { limitInputPixels: false }).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(["jpeg", 20000, 14000, 1]);
    const { data, info } = await sharp(uniformJpeg({ width: 100, height: 60 }), { failOn: "truncated" })
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([100, 60]);
    expect(data.every((v) => v === 128)).toBe(true);
  });

  it("writes a progressive jpeg of many scans that decodes completely", async () => {
    const bomb = scanBombJpeg({ width: 64, height: 48, scans: 500 });
    expect((await sharp(bomb).metadata()).isProgressive).toBe(true);
    const { data, info } = await sharp(bomb, { failOn: "truncated" }).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([64, 48]);
    expect(data.every((v) => v === 128)).toBe(true);
  });

  it("makes costly valid inputs: 12-bit avif, CMYK jpeg, 16-bit tiff, many-frame gif and webp", async () => {
    const avif = await sharp(await largeAvif({ width: 64, height: 48, bitDepth: 12 })).metadata();
    expect([avif.format, avif.width, avif.bitsPerSample]).toEqual(["heif", 64, 12]);
    const jpeg = await sharp(await largeJpeg({ width: 64, height: 48 })).metadata();
    expect([jpeg.format, jpeg.width, jpeg.height]).toEqual(["jpeg", 64, 48]);
    const cmyk = await sharp(await cmykJpeg({ width: 64, height: 48 })).metadata();
    expect([cmyk.space, cmyk.channels]).toEqual(["cmyk", 4]);
    const tiff = await sharp(await tiff16({ width: 64, height: 48 })).metadata();
    expect([tiff.format, tiff.depth]).toEqual(["tiff", "ushort"]);
    for (const format of ["gif", "webp"] as const) {
      const meta = await sharp(await manyFrames({ format, width: 16, height: 16, frames: 40 })).metadata();
      expect([meta.format, meta.pages, meta.pageHeight ?? meta.height], format).toEqual([format, 40, 16]);
    }
  });
});
