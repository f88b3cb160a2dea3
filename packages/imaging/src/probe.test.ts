import { isPermanentJobError } from "@imagen/core";
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
} from "@imagen/testing/images";
import { describe, expect, it } from "vitest";
import { probeImage, sniffFormat } from "./probe.js";

const limits = { maxInputPixels: 40_000_000 };

async function probeError(data: Buffer, max = limits.maxInputPixels): Promise<unknown> {
  return probeImage(data, { maxInputPixels: max }).then(
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
