import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HAS_SHARED_MODELS, SHARED_IMAGES_DIR, SHARED_MODELS_DIR } from "../test/model-fixtures.js";
import { createModelRegistry, loadManifest } from "./models.js";
import { createPipelines, type Pipelines } from "./pipelines.js";
import { createSessionCache, type SessionCache } from "./sessions.js";

const idle = { signal: new AbortController().signal, onProgress: () => undefined };

if (!HAS_SHARED_MODELS) console.log(`skipping real-model pipeline tests: ${SHARED_MODELS_DIR} is absent`);

describe.skipIf(!HAS_SHARED_MODELS)("pipelines with the real shared models", () => {
  let sessions: SessionCache;
  let pipelines: Pipelines;
  beforeAll(async () => {
    const registry = createModelRegistry({ manifest: await loadManifest(), modelDir: SHARED_MODELS_DIR });
    sessions = createSessionCache({ executionProvider: "cpu" });
    pipelines = createPipelines({
      registry,
      sessions,
      limits: { maxInputPixels: 40_000_000, maxOutputPixels: 100_000_000 },
    });
  });
  afterAll(() => sessions.close());

  it("upscales the 150×100 cat photo ×4 with Real-ESRGAN to a sharp 600×400 png", async () => {
    const input = await readFile(path.join(SHARED_IMAGES_DIR, "lowres-chelsea-150x100.jpg"));
    await pipelines.warmUp(["upscale"]);
    const started = performance.now();
    const result = await pipelines.run("upscale", input, { scale: 4, format: "png" }, idle);
    const totalMs = Math.round(performance.now() - started);
    const outPath = path.join(tmpdir(), "imagen-real-upscale-chelsea-600x400.png");
    await writeFile(outPath, result.data);
    console.log(`real upscale 150×100 → 600×400: ${totalMs} ms total`, result.timings, `saved ${outPath}`);

    expect([result.width, result.height, result.format]).toEqual([600, 400, "png"]);
    const bicubic = await sharp(input).resize(600, 400, { kernel: "cubic" }).greyscale().raw().toBuffer();
    const upscaled = await sharp(result.data).greyscale().raw().toBuffer();
    // Same picture as a plain resize (small mean difference), but with more edge energy (sharper).
    expect(meanAbsDiff(upscaled, bicubic)).toBeLessThan(12);
    expect(edgeEnergy(upscaled, 600, 400)).toBeGreaterThan(edgeEnergy(bicubic, 600, 400));
  });

  it("enhances the synthetic low-light photo: brighter than the input", async () => {
    const input = await readFile(path.join(SHARED_IMAGES_DIR, "lowlight-synthetic-coffee-600x400.jpg"));
    const result = await pipelines.run("enhance", input, { strength: 1 }, idle);
    expect([result.width, result.height, result.format]).toEqual([600, 400, "jpeg"]);
    const before = (await sharp(input).stats()).channels[0]!.mean;
    const after = (await sharp(result.data).stats()).channels[0]!.mean;
    expect(after).toBeGreaterThan(before * 1.5);
  });

  it("stylises the cat with the default comic model, padding 451 px to a multiple of 4 and cropping back", async () => {
    const input = await readFile(path.join(SHARED_IMAGES_DIR, "cat-chelsea-451x300.png"));
    const result = await pipelines.run("comic", input, {}, idle);
    expect([result.width, result.height, result.format]).toEqual([451, 300, "png"]);
    const before = await sharp(input).removeAlpha().greyscale().raw().toBuffer();
    const after = await sharp(result.data).greyscale().raw().toBuffer();
    expect(meanAbsDiff(after, before)).toBeGreaterThan(15);
    await writeFile(path.join(tmpdir(), "imagen-real-comic-cat.png"), result.data);
  });
});

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

function edgeEnergy(grey: Buffer, width: number, height: number): number {
  let sum = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 1; x < width; x++) sum += Math.abs(grey[y * width + x]! - grey[y * width + x - 1]!);
  }
  return sum / (width * height);
}
