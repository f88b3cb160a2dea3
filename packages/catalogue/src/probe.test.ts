import { isPermanentJobError } from "@imagen/core";
import {
  BOMB_SIZES,
  animatedGif,
  cmykJpeg,
  decompressionBombPng,
  exifRotatedJpeg,
  greyPng,
  largeAvif,
  notAnImage,
  patternImage,
  pixelBomb,
  png16,
  rgbaPng,
  scanBombJpeg,
  tiff16,
  truncatedJpeg,
  uniformJpeg,
} from "@imagen/testing/images";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { MAX_HEIF_INPUT_PIXELS, MAX_JPEG_SCANS, probeImage, sniffFormat } from "./probe.js";

const limits = { maxInputPixels: 40_000_000 };

async function probeError(data: Buffer, max = limits.maxInputPixels, maxHeifPixels?: number): Promise<unknown> {
  return probeImage(data, { maxInputPixels: max, ...(maxHeifPixels !== undefined && { maxHeifPixels }) }).then(
    () => new Error("expected the probe to fail"),
    (err: unknown) => err,
  );
}

describe("probeImage", () => {
  it.each([
    ["png", "png"],
    ["jpeg", "jpeg"],
    ["webp", "webp"],
    ["avif", "avif"],
    ["gif", "gif"],
    ["tiff", "tiff"],
  ] as const)("sniffs %s and reads its size", async (format, expected) => {
    const probed = await probeImage(await patternImage({ width: 48, height: 32, format }), limits);
    expect(probed).toMatchObject({ format: expected, width: 48, height: 32, hasAlpha: false, pages: 1 });
  });

  it("reports alpha, 16-bit depth, greyscale and pages", async () => {
    expect(await probeImage(await rgbaPng({ width: 10, height: 6 }), limits)).toMatchObject({
      hasAlpha: true,
      channels: 4,
    });
    expect(await probeImage(await png16({ width: 10, height: 6 }), limits)).toMatchObject({ depth: "ushort" });
    expect(await probeImage(await greyPng({ width: 10, height: 6 }), limits)).toMatchObject({
      channels: 1,
      space: "b-w",
    });
    expect(await probeImage(await animatedGif({ width: 8, height: 8, frames: 3 }), limits)).toMatchObject({
      pages: 3,
      height: 8,
    });
  });

  it("swaps width and height for EXIF orientation 6", async () => {
    const probed = await probeImage(await exifRotatedJpeg({ width: 60, height: 20 }), limits);
    expect(probed).toMatchObject({ format: "jpeg", orientation: 6, width: 20, height: 60 });
  });

  it("refuses bytes that are not an image with UNSUPPORTED_IMAGE, saying what arrived", async () => {
    const err = await probeError(notAnImage());
    expect(isPermanentJobError(err)).toBe(true);
    expect(err).toMatchObject({ code: "UNSUPPORTED_IMAGE", httpStatus: 415 });
    expect((err as Error).message).toMatch(/Expected a jpeg, png.*received \d+ bytes starting 54 68 69 73/);
  });

  it("refuses an image signature with an unreadable header", async () => {
    const png = await patternImage({ width: 16, height: 16 });
    expect(await probeError(png.subarray(0, 20))).toMatchObject({ code: "UNSUPPORTED_IMAGE" });
  });

  it("refuses the 65536² decompression bomb from its header with IMAGE_TOO_LARGE", async () => {
    const rssBefore = process.memoryUsage().rss;
    const err = await probeError(decompressionBombPng());
    expect(err).toMatchObject({ code: "IMAGE_TOO_LARGE", httpStatus: 422 });
    expect((err as Error).message).toContain("65536×65536 (4294967296 pixels)");
    // Decoding 4 GP would need gigabytes; the header-only path stays far below that.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
  });

  it.each(["png", "jpeg", "webp", "avif", "gif", "tiff"] as const)(
    "refuses a %s pixel bomb from its header with IMAGE_TOO_LARGE",
    async (format) => {
      const { width, height } = BOMB_SIZES[format];
      const err = await probeError(await pixelBomb(format));
      expect(err).toMatchObject({ code: "IMAGE_TOO_LARGE", httpStatus: 422 });
      expect((err as Error).message).toContain(`${width}×${height}`);
    },
  );

  it("refuses a complete 20000×14000 jpeg from its header with IMAGE_TOO_LARGE", async () => {
    const err = await probeError(uniformJpeg());
    expect(err).toMatchObject({ code: "IMAGE_TOO_LARGE" });
    expect((err as Error).message).toContain("20000×14000 (280000000 pixels)");
  });

  it("refuses an avif over the avif limit though under the pixel limit", async () => {
    // 30 MP: under the 40 MP input limit, over the 24 MP avif one (libheif decodes whole frames).
    const err = await probeError(await pixelBomb("avif", { width: 6000, height: 5000 }));
    expect(err).toMatchObject({ code: "IMAGE_TOO_LARGE" });
    expect((err as Error).message).toContain(`an avif image of at most ${MAX_HEIF_INPUT_PIXELS} pixels`);
  });

  it("takes the avif limit as an option, never above the pixel limit", async () => {
    const avif = await largeAvif({ width: 64, height: 48 });
    expect(await probeError(avif, limits.maxInputPixels, 1000)).toMatchObject({ code: "IMAGE_TOO_LARGE" });
    expect(await probeImage(avif, { maxInputPixels: 4000, maxHeifPixels: 4000 })).toMatchObject({ format: "avif" });
    const err = await probeError(avif, 1000, 1_000_000);
    expect((err as Error).message).toContain("an image of at most 1000 pixels");
  });

  it(`refuses a jpeg of more than ${MAX_JPEG_SCANS} scans with UNSUPPORTED_IMAGE`, async () => {
    const err = await probeError(scanBombJpeg({ width: 64, height: 48, scans: MAX_JPEG_SCANS }));
    expect(err).toMatchObject({ code: "UNSUPPORTED_IMAGE" });
    expect((err as Error).message).toContain(`at most ${MAX_JPEG_SCANS} scans`);
    // The DC scan plus one fewer AC scans is at the limit.
    const atLimit = scanBombJpeg({ width: 64, height: 48, scans: MAX_JPEG_SCANS - 1 });
    expect(await probeImage(atLimit, limits)).toMatchObject({ format: "jpeg", width: 64 });
  });

  it("accepts an encoder's progressive jpeg", async () => {
    const progressive = await sharp(await patternImage({ width: 64, height: 48 }))
      .jpeg({ progressive: true })
      .toBuffer();
    expect(await probeImage(progressive, limits)).toMatchObject({ format: "jpeg", width: 64, height: 48 });
  });

  it("accepts CMYK jpeg and 16-bit tiff, reporting their space and depth", async () => {
    expect(await probeImage(await cmykJpeg({ width: 32, height: 24 }), limits)).toMatchObject({
      format: "jpeg",
      space: "cmyk",
      channels: 4,
    });
    expect(await probeImage(await tiff16({ width: 32, height: 24 }), limits)).toMatchObject({
      format: "tiff",
      depth: "ushort",
    });
  });

  it("applies the pixel limit after orientation to any image", async () => {
    expect(await probeError(await patternImage({ width: 40, height: 30 }), 1000)).toMatchObject({
      code: "IMAGE_TOO_LARGE",
    });
  });

  it("refuses a jpeg cut short, though its header is intact", async () => {
    const err = await probeError(await truncatedJpeg({ width: 64, height: 64 }));
    expect(err).toMatchObject({ code: "UNSUPPORTED_IMAGE" });
    expect(String((err as Error).message)).toContain("truncated");
  });

  it("refuses png, gif and webp files cut short", async () => {
    for (const format of ["png", "gif", "webp"] as const) {
      const whole = await patternImage({ width: 64, height: 64, format });
      const err = await probeError(whole.subarray(0, Math.floor(whole.length * 0.6)));
      expect(err, format).toMatchObject({ code: "UNSUPPORTED_IMAGE" });
    }
  });

  it("accepts complete files with a little trailing padding", async () => {
    const jpeg = await patternImage({ width: 64, height: 64, format: "jpeg" });
    const probed = await probeImage(Buffer.concat([jpeg, Buffer.alloc(16)]), limits);
    expect(probed).toMatchObject({ format: "jpeg", width: 64, height: 64 });
  });

  it("sniffs by magic bytes, not by name", () => {
    expect(sniffFormat(Buffer.from("GIF89a......"))).toBe("gif");
    expect(sniffFormat(Buffer.from([0, 0, 0, 24, ...Buffer.from("ftypheic")]))).toBe("heif");
    expect(sniffFormat(Buffer.from("<svg xmlns"))).toBeUndefined();
  });
});
