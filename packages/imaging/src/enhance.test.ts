import * as ort from "onnxruntime-node";
import type { EnhanceOptions } from "@imagen/core";
import { tinyDenoiseModel } from "@imagen/testing/onnx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { meanLuma, rgbPixels, toPng, withGaussianNoise, type Pixels } from "../test/image-metrics.js";
import { createTinyPipelines, idle, testContract } from "../test/model-fixtures.js";
import { planEnhancement, undoClipBias, type EnhanceMeasures } from "./enhance.js";
import { runImageToImage, type RunContext } from "./image-to-image.js";
import type { Pipelines } from "./pipelines.js";
import { planTiles } from "./tiling.js";

const auto = { mode: "auto", strength: 1 } as const;

function measures(meanLuma: number, brightenedLuma: number, fine: number, coarse = fine): EnhanceMeasures {
  return {
    exposure: { meanLuma, medianLuma: meanLuma, p99Luma: 255, clippedShare: 0 },
    noise: { fine, coarse, channels: [fine, fine, fine] },
    brightenedLuma,
  };
}

describe("planEnhancement", () => {
  it("leaves a well-exposed, clean photo alone", () => {
    expect(planEnhancement(measures(110, 200, 1.5, 3), auto)).toEqual({ brighten: 0, sigma: 0, gain: 1 });
  });

  it("brightens a dark photo fully and skips the denoiser when its noise stays invisible", () => {
    const plan = planEnhancement(measures(15, 65, 0.5, 0.6), auto);
    expect(plan.brighten).toBe(1);
    expect(plan.sigma).toBe(0);
    expect(plan.gain).toBeCloseTo(65 / 15, 5);
  });

  it("caps the brightening at a mean luma of 95 and denoises a dark photo by its coarse reading", () => {
    // The night bus: mean 30, SCI's output 111, fine 0.65, coarse 1.66.
    const plan = planEnhancement(measures(30, 111, 0.65, 1.66), auto);
    expect(plan.brighten).toBeCloseTo((95 - 30) / (111 - 30), 5);
    expect(plan.gain).toBeCloseTo(1 + plan.brighten * (111 / 30 - 1), 5);
    expect(plan.sigma).toBe(1.66);
  });

  it("ramps the brightening between mean lumas of 40 and 90", () => {
    const at = (luma: number): number => planEnhancement(measures(luma, luma * 1.2, 0), auto).brighten;
    expect(at(40)).toBe(1);
    expect(at(65)).toBeCloseTo(0.5, 5);
    expect(at(90)).toBe(0);
    expect(at(50)).toBeGreaterThan(at(60));
  });

  it("denoises a noisy well-exposed photo by its fine reading only, without brightening", () => {
    expect(planEnhancement(measures(110, 200, 25, 28), auto)).toEqual({ brighten: 0, sigma: 25, gain: 1 });
  });

  it("uses the denoise option as given, unscaled, and 0 turns the denoiser off", () => {
    expect(planEnhancement(measures(110, 200, 25), { ...auto, strength: 0.5, denoise: 7 }).sigma).toBe(7);
    expect(planEnhancement(measures(15, 65, 25), { ...auto, denoise: 0 }).sigma).toBe(0);
  });

  it("scales the measured amounts by strength; strength 0 does nothing", () => {
    const half = planEnhancement(measures(15, 65, 10), { ...auto, strength: 0.5 });
    expect([half.brighten, half.sigma]).toEqual([0.5, 5]);
    expect(planEnhancement(measures(15, 65, 10), { ...auto, strength: 0 })).toEqual({ brighten: 0, sigma: 0, gain: 1 });
  });

  it("low-light brightens by strength whatever the exposure; denoise mode never brightens and is not gated", () => {
    expect(planEnhancement(measures(120, 230, 1), { mode: "low-light", strength: 0.7 }).brighten).toBe(0.7);
    const denoise = planEnhancement(measures(15, 65, 1.2, 3), { mode: "denoise", strength: 1 });
    expect([denoise.brighten, denoise.sigma]).toEqual([0, 1.2]);
  });

  it("keeps σ within the denoiser's range", () => {
    expect(planEnhancement(measures(110, 200, 80), auto).sigma).toBe(50);
  });
});

describe("undoClipBias", () => {
  it("maps the mean of clipped noise back to the value under it and leaves mid-tones alone", () => {
    const sigma = 10;
    // E[max(0, n)] for n ~ N(0, σ²) is σ/√(2π): what a denoiser leaves on a black pixel.
    const black = sigma / Math.sqrt(2 * Math.PI) / 255;
    const image = { data: new Float32Array([black, 128 / 255, 1 - black]), width: 1, height: 1 };
    undoClipBias(image, sigma);
    expect(image.data[0]).toBeLessThan(0.3 / 255);
    expect(image.data[1]! * 255).toBeCloseTo(128, 3);
    expect(image.data[2]).toBeGreaterThan(1 - 0.3 / 255);
  });
});

describe("runImageToImage with a noise input", () => {
  const contract = testContract({ multiple: 2, tileSize: 16, tileOverlap: 2, noiseInput: "sigma" });
  const image = { rgb: Buffer.alloc(20 * 10 * 3, 200), width: 20, height: 10 };

  it("feeds σ/255 as a [1,1,1,1] tensor to every tile", async () => {
    const session = await ort.InferenceSession.create(tinyDenoiseModel());
    // The tiny denoiser returns clip(input − sigma).
    const out = await runImageToImage(session, contract, image, idle, { noise: 51 });
    expect(new Set(out.rgb)).toEqual(new Set([149]));
    await session.release();
  });

  it("refuses to run a noise model without a noise level", async () => {
    const session = await ort.InferenceSession.create(tinyDenoiseModel());
    await expect(runImageToImage(session, contract, image, idle)).rejects.toMatchObject({ code: "PROCESSING_FAILED" });
    await session.release();
  });
});

/** A 96×64 image around `level` with a gentle texture (so it is not flat), optionally noisy. */
function photoLike(level: number, sigma = 0): Pixels {
  const width = 96;
  const height = 64;
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = level * (1 + 0.15 * Math.sin(x / 9) * Math.cos(y / 7));
      data.fill(Math.round(v), (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  const image = { data, width, height, channels: 3 };
  return sigma > 0 ? withGaussianNoise(image, sigma, 21) : image;
}

describe("enhance with the tiny models", () => {
  let fixture: Awaited<ReturnType<typeof createTinyPipelines>>;
  let pipelines: Pipelines;
  beforeAll(async () => {
    fixture = await createTinyPipelines({ tiles: { tileSize: 32, tileOverlap: 4 } });
    pipelines = fixture.pipelines;
  });
  afterAll(() => fixture.close());

  const enhance = async (input: Pixels, options: Partial<EnhanceOptions>, ctx: RunContext = idle): Promise<Pixels> => {
    const all: EnhanceOptions = { mode: "auto", strength: 1, format: "png", ...options };
    return rgbPixels((await pipelines.run("enhance", await toPng(input), all, ctx)).data);
  };

  it("gives the denoiser the σ of the denoise option", async () => {
    const input = photoLike(128);
    const out = await enhance(input, { mode: "denoise", denoise: 20 });
    // tiny-denoise subtracts σ: every sample 20 levels lower.
    for (let i = 0; i < out.data.length; i += 97)
      expect(Math.abs(out.data[i]! - (input.data[i]! - 20))).toBeLessThanOrEqual(1);
  });

  it("gives the denoiser the estimated σ when the option is absent", async () => {
    const input = photoLike(128, 12);
    const drop = meanLuma(input) - meanLuma(await enhance(input, {}));
    expect(drop).toBeGreaterThan(11);
    expect(drop).toBeLessThan(13);
  });

  it("scales the estimated σ by strength", async () => {
    const input = photoLike(128, 12);
    const drop = meanLuma(input) - meanLuma(await enhance(input, { strength: 0.5 }));
    expect(drop).toBeGreaterThan(5.5);
    expect(drop).toBeLessThan(6.5);
  });

  it("returns a clean, well-exposed image unchanged in auto mode", async () => {
    const input = photoLike(128);
    expect((await enhance(input, {})).data.equals(input.data)).toBe(true);
  });

  it("brightens a dark image through the low-light model in auto mode", async () => {
    const input = photoLike(20);
    const out = await enhance(input, { denoise: 0 });
    for (let i = 0; i < out.data.length; i += 89) expect(out.data[i]).toBe(Math.round(input.data[i]! * 1.5));
  });

  it("brightens a well-exposed image in low-light mode, by strength", async () => {
    const input = photoLike(100);
    expect(meanLuma(await enhance(input, { mode: "low-light", denoise: 0 }))).toBeCloseTo(1.5 * meanLuma(input), 0);
    expect(meanLuma(await enhance(input, { mode: "low-light", strength: 0.5, denoise: 0 }))).toBeCloseTo(
      1.25 * meanLuma(input),
      0,
    );
  });

  it("never brightens in denoise mode, even a dark image", async () => {
    const input = photoLike(30);
    const out = await enhance(input, { mode: "denoise", denoise: 5 });
    expect(meanLuma(out)).toBeCloseTo(meanLuma(input) - 5, 0);
  });

  it("skips the denoiser with denoise 0 and returns the input at strength 0", async () => {
    const noisy = photoLike(128, 12);
    expect((await enhance(noisy, { denoise: 0 })).data.equals(noisy.data)).toBe(true);
    const darkNoisy = photoLike(25, 8);
    expect((await enhance(darkNoisy, { strength: 0 })).data.equals(darkNoisy.data)).toBe(true);
  });

  it("reports progress once from 0 to 1 over both stages, and adds its stage timings", async () => {
    const seen: number[] = [];
    const input = await toPng(photoLike(25, 8));
    const ctx: RunContext = { signal: new AbortController().signal, onProgress: (f) => void seen.push(f) };
    const result = await pipelines.run("enhance", input, { ...auto, format: "png" }, ctx);
    // After the measuring step, both models ran over their tiles.
    const tiles = (multiple: number): number => planTiles(96, 64, { tileSize: 32, overlap: 4, multiple }).tiles.length;
    expect(seen.length).toBe(1 + tiles(2) + tiles(1));
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(result.timings.preMs + result.timings.inferMs + result.timings.postMs).toBeGreaterThan(0);
  });

  it("reports 1 once when no model has to run", async () => {
    const seen: number[] = [];
    const ctx: RunContext = { signal: new AbortController().signal, onProgress: (f) => void seen.push(f) };
    await pipelines.run("enhance", await toPng(photoLike(128)), { ...auto, format: "png" }, ctx);
    expect(seen).toEqual([1]);
  });

  it("stops between tiles when canceled", async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const ctx: RunContext = {
      signal: controller.signal,
      onProgress: (f) => {
        seen.push(f);
        if (seen.length === 3) controller.abort(new Error("canceled by test"));
      },
    };
    const run = pipelines.run("enhance", await toPng(photoLike(25, 8)), { ...auto, format: "png" }, ctx);
    await expect(run).rejects.toThrow("canceled by test");
    expect(seen).toHaveLength(3);
  });
});
