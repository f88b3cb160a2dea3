import { describe, expect, it } from "vitest";
import { isAppError } from "./errors.js";
import { encoderQuality, expectedOutputSize, isOpName, parseOptions } from "./ops.js";

function parseError(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isAppError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected an error");
}

describe("parseOptions", () => {
  it("fills every default", () => {
    expect(parseOptions("upscale", {})).toEqual({ scale: 4 });
    expect(parseOptions("enhance", undefined)).toEqual({ mode: "auto", strength: 1 });
    expect(parseOptions("comic", {})).toEqual({ style: "ink" });
    expect(parseOptions("background-removal", {})).toEqual({ output: "cutout", background: "#ffffff" });
  });

  it("keeps valid values", () => {
    expect(parseOptions("upscale", { scale: 2, format: "webp", quality: 80 })).toEqual({
      scale: 2,
      format: "webp",
      quality: 80,
    });
    expect(parseOptions("enhance", { mode: "denoise", denoise: 20 })).toEqual({
      mode: "denoise",
      strength: 1,
      denoise: 20,
    });
    expect(parseOptions("comic", { style: "mosaic" })).toEqual({ style: "mosaic" });
  });

  it("takes upscale quality as a model choice (a word) or as the encoder quality (a number)", () => {
    expect(parseOptions("upscale", { quality: "best" })).toEqual({ scale: 4, quality: "best" });
    expect(encoderQuality(parseOptions("upscale", { quality: "best" }))).toBeUndefined();
    expect(encoderQuality(parseOptions("upscale", { quality: 70 }))).toBe(70);
    expect(parseError(() => parseOptions("upscale", { quality: "ultra" })).message).toContain("quality");
    expect(parseError(() => parseOptions("enhance", { quality: "best" })).message).toContain("quality");
  });

  it("rejects an unknown option by name", () => {
    const e = parseError(() => parseOptions("upscale", { sharpen: true }));
    expect(e.code).toBe("INVALID_OPTIONS");
    expect(e.message).toContain("sharpen");
  });

  it("rejects out-of-range and wrongly typed values, naming the option", () => {
    const scale = parseError(() => parseOptions("upscale", { scale: 5 }));
    expect(scale.code).toBe("INVALID_OPTIONS");
    expect(scale.message).toContain("scale");
    expect(parseError(() => parseOptions("enhance", { strength: 1.5 })).message).toContain("strength");
    expect(parseError(() => parseOptions("upscale", { quality: 0 })).message).toContain("quality");
    expect(parseError(() => parseOptions("background-removal", { background: "red" })).message).toContain("background");
    expect(parseError(() => parseOptions("comic", { format: "bmp" })).message).toContain("format");
    expect(parseError(() => parseOptions("enhance", { mode: "magic" })).message).toContain("mode");
    expect(parseError(() => parseOptions("enhance", { denoise: 51 })).message).toContain("denoise");
    expect(parseError(() => parseOptions("comic", { style: "anime" })).message).toContain("style");
  });

  it("rejects options that are not an object", () => {
    expect(parseError(() => parseOptions("comic", [1])).code).toBe("INVALID_OPTIONS");
    expect(parseError(() => parseOptions("comic", "x")).code).toBe("INVALID_OPTIONS");
  });

  it("does not modify its input", () => {
    const raw = {};
    parseOptions("upscale", raw);
    expect(raw).toEqual({});
  });
});

describe("ops", () => {
  it("knows the four op names", () => {
    expect(["upscale", "enhance", "comic", "background-removal"].every(isOpName)).toBe(true);
    expect(isOpName("sharpen")).toBe(false);
  });

  it("predicts the output size from the input size", () => {
    expect(expectedOutputSize("upscale", { scale: 4 }, { width: 10, height: 20 })).toEqual({ width: 40, height: 80 });
    expect(expectedOutputSize("upscale", { scale: 3 }, { width: 10, height: 20 })).toEqual({ width: 30, height: 60 });
    expect(expectedOutputSize("enhance", { mode: "auto", strength: 1 }, { width: 10, height: 20 })).toEqual({
      width: 10,
      height: 20,
    });
  });
});
