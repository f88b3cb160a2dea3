import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { EnhanceOptions } from "@imagen/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clippedFraction,
  colourBalance,
  darkened,
  meanAbsDiff,
  meanLuma,
  psnr,
  rgbPixels,
  toPng,
  withGaussianNoise,
  type Pixels,
} from "../test/image-metrics.js";
import { idle, openRealPipelines, TEST_IMAGES_DIR } from "../test/model-fixtures.js";
import type { Pipelines } from "./pipelines.js";
import type { SessionCache } from "./sessions.js";

const PHOTOS = [
  ["coffee", "coffee-600x400.png"],
  ["cat", "cat-chelsea-451x300.png"],
  ["astronaut", "portrait-astronaut-512x512.png"],
] as const;
type PhotoName = (typeof PHOTOS)[number][0];

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));
const SLOW_MS = 120_000;

/** Writes `image` to the temp dir as PNG for a look by eye and returns its path. */
async function keep(name: string, image: Pixels): Promise<string> {
  const file = path.join(tmpdir(), `imagen-enhance-${name}.png`);
  await writeFile(file, await toPng(image));
  return file;
}

describe("enhance with the real models on real photos", () => {
  let sessions: SessionCache;
  let pipelines: Pipelines;
  const clean = new Map<PhotoName, Pixels>();
  beforeAll(async () => {
    ({ sessions, pipelines } = await openRealPipelines());
    for (const [name, file] of PHOTOS) clean.set(name, await rgbPixels(path.join(TEST_IMAGES_DIR, file)));
  });
  afterAll(() => sessions.close());

  const photo = (name: PhotoName): Pixels => clean.get(name)!;
  const enhance = async (input: Pixels, options: Partial<EnhanceOptions> = {}): Promise<Pixels> => {
    const all: EnhanceOptions = { mode: "auto", strength: 1, format: "png", ...options };
    return rgbPixels((await pipelines.run("enhance", await toPng(input), all, idle)).data);
  };

  it.each(PHOTOS)("auto leaves the well-exposed %s photo within 3 levels", async (name) => {
    const input = photo(name);
    const out = await enhance(input);
    const change = meanAbsDiff(out, input);
    console.log(
      `enhance normal ${name}`,
      JSON.stringify({ meanAbsChange: round(change, 3) }),
      await keep(`${name}-normal`, out),
    );
    expect(change).toBeLessThanOrEqual(3);
  });

  it.each(PHOTOS)(
    "auto brightens the dark %s photo at least 2× with at most 2 per cent of pixels clipped",
    async (name) => {
      const input = darkened(photo(name));
      const out = await enhance(input);
      const m = {
        meanLuma: [round(meanLuma(input)), round(meanLuma(out))],
        clippedPct: round(100 * clippedFraction(out), 3),
      };
      await keep(`${name}-dark-in`, input);
      console.log(`enhance dark ${name}`, JSON.stringify(m), await keep(`${name}-dark-out`, out));
      expect(meanLuma(out)).toBeGreaterThanOrEqual(2 * meanLuma(input));
      expect(clippedFraction(out)).toBeLessThanOrEqual(0.02);
    },
  );

  it.each(PHOTOS)(
    "auto takes σ = 25 noise off the %s photo: PSNR against the clean photo up by 6 dB or more",
    async (name) => {
      const reference = photo(name);
      const noisy = withGaussianNoise(reference, 25, 7);
      const out = await enhance(noisy);
      const m = { psnrDb: [round(psnr(noisy, reference)), round(psnr(out, reference))] };
      await keep(`${name}-noisy-in`, noisy);
      console.log(`enhance noisy ${name}`, JSON.stringify(m), await keep(`${name}-noisy-out`, out));
      expect(psnr(out, reference)).toBeGreaterThanOrEqual(psnr(noisy, reference) + 6);
    },
    SLOW_MS,
  );

  it.each(PHOTOS)(
    "auto brightens the dark, noisy %s photo, cleaner than SCI alone and without a colour cast",
    async (name) => {
      const dark = darkened(photo(name));
      const input = withGaussianNoise(dark, 10, 13);
      // What the low-light model alone makes of the dark photo without noise: the target.
      const reference = await enhance(dark, { mode: "low-light", denoise: 0 });
      const sciAlone = await enhance(input, { mode: "low-light", denoise: 0 });
      const out = await enhance(input);
      const balance = (p: Pixels): number[] => colourBalance(p).map((v) => round(v, 3));
      const cast = colourBalance(out).map((v, c) => v / colourBalance(reference)[c]! - 1);
      const m = {
        meanLuma: [round(meanLuma(input)), round(meanLuma(out))],
        psnrVsCleanBrightenedDb: { sciAlone: round(psnr(sciAlone, reference)), enhance: round(psnr(out, reference)) },
        balance: { reference: balance(reference), sciAlone: balance(sciAlone), enhance: balance(out) },
        castPct: cast.map((v) => round(100 * v, 1)),
      };
      await keep(`${name}-dark-noisy-in`, input);
      await keep(`${name}-dark-noisy-sci-alone`, sciAlone);
      console.log(`enhance dark+noisy ${name}`, JSON.stringify(m), await keep(`${name}-dark-noisy-out`, out));
      expect(meanLuma(out)).toBeGreaterThanOrEqual(2 * meanLuma(input));
      expect(psnr(out, reference)).toBeGreaterThanOrEqual(psnr(sciAlone, reference) + 6);
      // Channel means over luma within 5 % of the clean photo's; SCI alone on the noisy input is off
      // by up to 35 % (clipped noise lifts the dark blue channel).
      for (const c of cast) expect(Math.abs(c)).toBeLessThanOrEqual(0.05);
    },
    SLOW_MS,
  );

  it("low-light brightens even a well-exposed photo", async () => {
    const input = photo("coffee");
    const out = await enhance(input, { mode: "low-light" });
    console.log(
      "enhance low-light on normal coffee",
      JSON.stringify({ meanLuma: [round(meanLuma(input)), round(meanLuma(out))] }),
    );
    expect(meanLuma(out)).toBeGreaterThan(meanLuma(input) + 20);
  });

  it(
    "denoise mode leaves the exposure alone, on a noisy and on a clean photo",
    async () => {
      const noisy = withGaussianNoise(photo("cat"), 25, 7);
      const cleanCoffee = photo("coffee");
      const outNoisy = await enhance(noisy, { mode: "denoise" });
      const outClean = await enhance(cleanCoffee, { mode: "denoise" });
      const m = {
        noisyCat: {
          meanLuma: [round(meanLuma(noisy)), round(meanLuma(outNoisy))],
          psnrDb: round(psnr(outNoisy, photo("cat"))),
        },
        cleanCoffee: {
          meanLuma: [round(meanLuma(cleanCoffee)), round(meanLuma(outClean))],
          meanAbsChange: round(meanAbsDiff(outClean, cleanCoffee)),
        },
      };
      console.log("enhance denoise mode", JSON.stringify(m));
      expect(Math.abs(meanLuma(outNoisy) - meanLuma(noisy))).toBeLessThanOrEqual(2);
      expect(Math.abs(meanLuma(outClean) - meanLuma(cleanCoffee))).toBeLessThanOrEqual(2);
    },
    SLOW_MS,
  );

  it("denoise 0 in auto skips the denoiser, and strength 0 returns the input", async () => {
    const noisy = withGaussianNoise(photo("cat"), 25, 7);
    expect(meanAbsDiff(await enhance(noisy, { denoise: 0 }), noisy)).toBe(0);
    const darkNoisy = withGaussianNoise(darkened(photo("coffee")), 10, 13);
    expect(meanAbsDiff(await enhance(darkNoisy, { strength: 0 }), darkNoisy)).toBeLessThanOrEqual(0.5);
    // With the denoiser off, a dark photo gets the low-light model alone.
    const sciAlone = await enhance(darkNoisy, { mode: "low-light", denoise: 0 });
    expect(meanAbsDiff(await enhance(darkNoisy, { denoise: 0 }), sciAlone)).toBe(0);
  });
});
