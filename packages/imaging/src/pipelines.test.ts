import sharp from "sharp";
import { OP_NAMES, isPermanentJobError } from "@imagen/core";
import { decompressionBombPng, patternImage, patternPixels, rgbaPng } from "@imagen/testing/images";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createModelRegistry } from "@imagen/catalogue";
import { createTinyModelDir, createTinyPipelines, idle } from "../test/model-fixtures.js";
import { createPipelines, type Pipelines } from "./pipelines.js";
import { createSessionCache, type SessionCache } from "./sessions.js";

async function raw(data: Buffer): Promise<{ data: Buffer; channels: number; width: number; height: number }> {
  const { data: pixels, info } = await sharp(data).raw().toBuffer({ resolveWithObject: true });
  return { data: pixels, channels: info.channels, width: info.width, height: info.height };
}

describe("createPipelines", () => {
  let fixture: Awaited<ReturnType<typeof createTinyPipelines>>;
  let pipelines: Pipelines;
  beforeAll(async () => {
    fixture = await createTinyPipelines({ tiles: { tileSize: 32, tileOverlap: 4 } });
    pipelines = fixture.pipelines;
  });
  afterAll(() => fixture.close());

  it("supports every op", () => {
    expect(OP_NAMES.every((op) => pipelines.supports(op))).toBe(true);
  });

  it("upscales RGB ×4 in the input's format, with timings", async () => {
    const input = await patternImage({ width: 50, height: 30, format: "jpeg" });
    const result = await pipelines.run("upscale", input, { scale: 4 }, idle);
    expect(result).toMatchObject({ width: 200, height: 120, format: "jpeg", contentType: "image/jpeg" });
    const meta = await sharp(result.data).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", 200, 120]);
    expect(Object.values(result.timings).every((ms) => ms >= 0)).toBe(true);
  });

  it("upscales ×2 by running ×4 and resizing down", async () => {
    const input = await patternImage({ width: 40, height: 24 });
    const result = await pipelines.run("upscale", input, { scale: 2, format: "png" }, idle);
    const out = await raw(result.data);
    expect([out.width, out.height, out.channels]).toEqual([80, 48, 3]);
    // Pixel (60, 40) of the ×2 output samples input (30, 20) — compare with the pattern.
    const expected = patternPixels(40, 24);
    const o = (40 * 80 + 60) * 3;
    const e = (20 * 40 + 30) * 3;
    expect(Math.abs(out.data[o]! - expected[e]!)).toBeLessThan(12);
  });

  it("runs the named model: the inverting upscaler flips the colours", async () => {
    const input = await patternImage({ width: 16, height: 16 });
    const result = await pipelines.run("upscale", input, { scale: 4, model: "tiny-up-invert" }, idle);
    const out = await raw(result.data);
    const expected = patternPixels(16, 16);
    expect(out.data[0]).toBe(255 - expected[0]!);
    expect(out.data[(4 * 64 * 4 + 4 * 4) * 3 + 2]).toBe(255 - expected[(4 * 16 + 4) * 3 + 2]!);
  });

  it.each([4, 2] as const)("keeps and scales the alpha channel of an RGBA input at ×%d", async (scale) => {
    const input = await rgbaPng({ width: 32, height: 8 });
    const result = await pipelines.run("upscale", input, { scale }, idle);
    expect(result.format).toBe("png");
    const out = await raw(result.data);
    expect([out.width, out.height, out.channels]).toEqual([32 * scale, 8 * scale, 4]);
    expect(out.data[3]).toBeLessThan(10); // left edge transparent
    expect(out.data[(out.width - 1) * 4 + 3]).toBeGreaterThan(245); // right edge opaque
    const mid = out.data[(Math.floor(out.width / 2) + out.width * 2) * 4 + 3]!;
    expect(mid).toBeGreaterThan(100);
    expect(mid).toBeLessThan(155);
  });

  it("refuses an output over maxOutputPixels before decoding", async () => {
    const input = await patternImage({ width: 400, height: 400 });
    const err = await pipelines.run("upscale", input, { scale: 4 }, idle).catch((e: unknown) => e);
    expect(isPermanentJobError(err)).toBe(true);
    expect(err).toMatchObject({ code: "OUTPUT_TOO_LARGE" });
    expect((err as Error).message).toContain("1600×1600");
  });

  it("refuses the decompression bomb and non-images as permanent errors", async () => {
    await expect(pipelines.run("upscale", decompressionBombPng(), { scale: 4 }, idle)).rejects.toMatchObject({
      code: "IMAGE_TOO_LARGE",
    });
    await expect(pipelines.run("upscale", Buffer.from("nope"), { scale: 4 }, idle)).rejects.toMatchObject({
      code: "UNSUPPORTED_IMAGE",
    });
  });

  it("stops when the signal aborts, after fewer progress reports than tiles", async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const onProgress = (fraction: number): void => {
      seen.push(fraction);
      if (seen.length === 3) controller.abort(new Error("job canceled"));
    };
    const input = await patternImage({ width: 96, height: 96 });
    await expect(
      pipelines.run("upscale", input, { scale: 4 }, { signal: controller.signal, onProgress }),
    ).rejects.toThrow("job canceled");
    expect(seen).toHaveLength(3);
    expect(seen.at(-1)).toBeLessThan(1);
  });

  it("refuses a model id of another op as INVALID_OPTIONS", async () => {
    const input = await patternImage({ width: 8, height: 8 });
    await expect(pipelines.run("upscale", input, { scale: 4, model: "tiny-enhance" }, idle)).rejects.toMatchObject({
      code: "INVALID_OPTIONS",
      name: "PermanentJobError",
    });
  });

  it("enhances with a strength blend of input and model output", async () => {
    const input = await patternImage({ width: 20, height: 12, format: "webp", quality: 100 });
    const decoded = await raw(input);
    const full = await raw(
      (await pipelines.run("enhance", input, { mode: "low-light", strength: 1, denoise: 0, format: "png" }, idle)).data,
    );
    const half = await raw(
      (await pipelines.run("enhance", input, { mode: "low-light", strength: 0.5, denoise: 0, format: "png" }, idle))
        .data,
    );
    const i = 7 * 3;
    expect(full.data[i]).toBe(Math.min(255, Math.round(decoded.data[i]! * 1.5)));
    expect(Math.abs(half.data[i]! - (decoded.data[i]! + full.data[i]!) / 2)).toBeLessThanOrEqual(1);
  });

  it("runs comic through the [0,255] contract, padding to the multiple of 4 and cropping back", async () => {
    const input = await patternImage({ width: 45, height: 31 });
    const result = await pipelines.run("comic", input, { style: "ink" }, idle);
    const out = await raw(result.data);
    expect([result.format, out.width, out.height]).toEqual(["png", 45, 31]);
    const expected = patternPixels(45, 31);
    expect(out.data[44 * 3]).toBe(Math.round(expected[44 * 3]! * 0.5));
  });

  it("warms up the default models of the given ops", async () => {
    await expect(pipelines.warmUp(["upscale", "enhance", "comic", "background-removal"])).resolves.toBeUndefined();
  });
});

describe("warm-up of built graphs", () => {
  it("builds background removal's guided-filter graphs at warm-up, so that the first jobs build no other", async () => {
    const models = await createTinyModelDir();
    const inner = createSessionCache({ executionProvider: "cpu", intraOpNumThreads: 1 });
    const built: string[] = [];
    const sessions: SessionCache = {
      ...inner,
      graph: (key, build) => {
        if (!built.includes(key)) built.push(key);
        return inner.graph(key, build);
      },
    };
    try {
      const pipelines = createPipelines({
        registry: createModelRegistry({ manifest: models.manifest, modelDir: models.dir }),
        sessions,
        limits: { maxInputPixels: 1_000_000, maxOutputPixels: 2_000_000 },
      });
      await pipelines.warmUp(["background-removal"]);
      const warmed = built.length;
      expect(warmed).toBeGreaterThanOrEqual(1);
      for (const size of [
        { width: 600, height: 400 },
        { width: 450, height: 600 },
      ]) {
        const photo = await patternImage(size);
        await pipelines.run("background-removal", photo, { output: "mask", background: "#ffffff" }, idle);
      }
      expect(built).toHaveLength(warmed);
    } finally {
      await inner.close();
      await models.cleanup();
    }
  });
});
