import sharp from "sharp";
import { patternPixels } from "@imagen/testing/images";
import { describe, expect, it } from "vitest";
import { defaultOutputFormat, encodeImage } from "./encode.js";

const rgb = patternPixels(24, 16);
const alpha = Buffer.alloc(24 * 16, 128);

describe("encodeImage", () => {
  it.each([
    ["png", "png", "image/png"],
    ["jpeg", "jpeg", "image/jpeg"],
    ["webp", "webp", "image/webp"],
    ["avif", "heif", "image/avif"],
  ] as const)("encodes %s", async (format, sharpFormat, contentType) => {
    const encoded = await encodeImage({ rgb, alpha: null, width: 24, height: 16 }, { format, quality: 80 });
    expect(encoded).toMatchObject({ format, contentType });
    const meta = await sharp(encoded.data).metadata();
    expect([meta.format, meta.width, meta.height, meta.hasAlpha]).toEqual([sharpFormat, 24, 16, false]);
  });

  it("applies a contract's unsharp mask to the colour channels as it encodes, alpha untouched", async () => {
    const sharpen = { sigma: 1, flat: 0.55, jagged: 2 };
    const png = await encodeImage({ rgb, alpha, width: 24, height: 16, sharpen }, { format: "png" });
    const { data } = await sharp(png.data).raw().toBuffer({ resolveWithObject: true });
    const expected = await sharp(rgb, { raw: { width: 24, height: 16, channels: 3 } })
      .sharpen({ sigma: 1, m1: 0.55, m2: 2 })
      .raw()
      .toBuffer();
    const colours = Buffer.from(data.filter((_, i) => i % 4 !== 3));
    expect(colours.equals(expected)).toBe(true);
    expect(colours.equals(rgb)).toBe(false);
    expect(data.filter((_, i) => i % 4 === 3).every((a) => a === 128)).toBe(true);
  });

  it("keeps alpha in png and webp, flattens it for jpeg", async () => {
    const png = await encodeImage({ rgb, alpha, width: 24, height: 16 }, { format: "png" });
    const { data, info } = await sharp(png.data).raw().toBuffer({ resolveWithObject: true });
    expect([info.channels, data[3]]).toEqual([4, 128]);
    expect(
      (await sharp((await encodeImage({ rgb, alpha, width: 24, height: 16 }, { format: "webp" })).data).metadata())
        .hasAlpha,
    ).toBe(true);
    expect(
      (await sharp((await encodeImage({ rgb, alpha, width: 24, height: 16 }, { format: "jpeg" })).data).metadata())
        .hasAlpha,
    ).toBe(false);
  });

  it("keeps a one-channel grey image grey in png and jpeg", async () => {
    const grey = Buffer.alloc(24 * 16, 77);
    for (const format of ["png", "jpeg"] as const) {
      const encoded = await encodeImage({ rgb: grey, alpha: null, width: 24, height: 16, channels: 1 }, { format });
      const meta = await sharp(encoded.data).metadata();
      expect([meta.format, meta.channels, meta.width, meta.height]).toEqual([format, 1, 24, 16]);
    }
  });

  it("chooses png for alpha, else the input's format when encodable, else png", () => {
    expect(defaultOutputFormat(true, "jpeg")).toBe("png");
    expect(defaultOutputFormat(false, "jpeg")).toBe("jpeg");
    expect(defaultOutputFormat(false, "avif")).toBe("avif");
    expect(defaultOutputFormat(false, "gif")).toBe("png");
    expect(defaultOutputFormat(false, "tiff")).toBe("png");
  });
});
