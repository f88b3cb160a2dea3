import { describe, expect, it } from "vitest";
import { parseOptionPairs } from "./option-pairs.js";
import { isUsageError } from "./usage-error.js";

function usageMessage(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (isUsageError(err)) return err.message;
    throw err;
  }
  throw new Error("expected a UsageError");
}

describe("parseOptionPairs", () => {
  it("coerces each value by the op's schema and applies its defaults", () => {
    const parsed = parseOptionPairs("upscale", ["scale=2", "quality=best"]);
    expect(parsed.given).toEqual({ scale: 2, quality: "best" });
    expect(parsed.options).toEqual({ scale: 2, quality: "best" });
    expect(parseOptionPairs("upscale", ["quality=90"]).options).toEqual({ scale: 4, quality: 90 });
    expect(parseOptionPairs("enhance", ["strength=0.5", "denoise=12"]).options).toMatchObject({
      mode: "auto",
      strength: 0.5,
      denoise: 12,
    });
  });

  it("keeps strings where the schema wants one, even when they look like numbers", () => {
    expect(parseOptionPairs("comic", ["model=123"]).given).toEqual({ model: "123" });
    expect(parseOptionPairs("background-removal", ["output=color", "background=#000000"]).options).toMatchObject({
      output: "color",
      background: "#000000",
    });
  });

  it("lets --model and --format win over a pair of the same name", () => {
    const parsed = parseOptionPairs("upscale", ["format=png", "model=a"], { model: "b", format: "webp" });
    expect(parsed.given).toEqual({ format: "webp", model: "b" });
  });

  it("refuses what the API refuses, naming the option", () => {
    expect(usageMessage(() => parseOptionPairs("upscale", ["scale=5"]))).toMatch(/Invalid option scale for op upscale/);
    expect(usageMessage(() => parseOptionPairs("upscale", ["sharpness=1"]))).toMatch(/option sharpness for op upscale/);
    expect(usageMessage(() => parseOptionPairs("enhance", ["strength=lots"]))).toMatch(/strength/);
    expect(usageMessage(() => parseOptionPairs("upscale", [], { format: "bmp" }))).toMatch(/format/);
  });

  it("refuses a pair without a key", () => {
    expect(usageMessage(() => parseOptionPairs("upscale", ["scale"]))).toBe(
      'Expected key=value for --option but received "scale"',
    );
    expect(usageMessage(() => parseOptionPairs("upscale", ["=2"]))).toMatch(/key=value/);
  });
});
