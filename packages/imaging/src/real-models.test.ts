import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headLabels, rectangleLabels, scoreMask } from "../test/astronaut-reference.js";
import {
  HAS_SHARED_MODELS,
  idle,
  openRealPipelines,
  SHARED_IMAGES_DIR,
  SHARED_MODELS_DIR,
} from "../test/model-fixtures.js";
import { predictMask, refineMask, resizeGrey } from "./background-removal.js";
import type { ModelRegistry } from "./models.js";
import type { Pipelines } from "./pipelines.js";
import type { SessionCache } from "./sessions.js";

if (!HAS_SHARED_MODELS) console.log(`skipping real-model pipeline tests: ${SHARED_MODELS_DIR} is absent`);

describe.skipIf(!HAS_SHARED_MODELS)("pipelines with the real shared models", () => {
  let sessions: SessionCache;
  let pipelines: Pipelines;
  let registry: ModelRegistry;
  beforeAll(async () => {
    ({ registry, sessions, pipelines } = await openRealPipelines());
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

  it("cuts the astronaut out of her portrait, the guided filter beating a plain resize of the mask", async () => {
    const input = await readFile(path.join(SHARED_IMAGES_DIR, "portrait-astronaut-512x512.png"));
    await pipelines.warmUp(["background-removal"]);
    const result = await pipelines.run("background-removal", input, { output: "cutout", background: "#ffffff" }, idle);
    expect([result.width, result.height, result.format]).toEqual([512, 512, "png"]);
    const outPath = path.join(tmpdir(), "imagen-real-cutout-astronaut.png");
    await writeFile(outPath, await onCheckerboard(result.data));
    const alpha = await sharp(result.data).extractChannel(3).raw().toBuffer();

    // The same stages by hand, to time them and to compare with a plain cubic resize of the mask.
    const rgb = await sharp(input).removeAlpha().raw().toBuffer();
    const image = { rgb, width: 512, height: 512 };
    const entry = registry.defaultFor("background-removal");
    const session = await sessions.get(await registry.resolve(entry.id));
    const t0 = performance.now();
    const small = await predictMask(session, entry.contract, image, idle.signal);
    const t1 = performance.now();
    const refined = await refineMask(small, image);
    const t2 = performance.now();
    const plain = await resizeGrey(small, image, "cubic");
    const [rects, head] = [rectangleLabels(), headLabels(rgb)];
    const scores = {
      pipeline: { rects: scoreMask(alpha, rects), head: scoreMask(alpha, head) },
      plain: { rects: scoreMask(plain.data, rects), head: scoreMask(plain.data, head) },
    };
    console.log(`real background removal 512²: predict ${Math.round(t1 - t0)} ms, refine ${Math.round(t2 - t1)} ms`);
    console.log("timings", result.timings, `saved ${outPath}`, JSON.stringify(scores));

    expect(refined.data.equals(alpha)).toBe(true);
    expect(scores.pipeline.rects.accuracy).toBeGreaterThanOrEqual(0.985);
    expect(scores.pipeline.rects.iou).toBeGreaterThanOrEqual(0.97);
    expect(scores.pipeline.head.iou).toBeGreaterThanOrEqual(0.985);
    expect(scores.pipeline.head.iou).toBeGreaterThan(scores.plain.head.iou + 0.01);
    expect(scores.pipeline.head.softError).toBeLessThan(scores.plain.head.softError);
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

/** The cutout over a grey checkerboard, so transparency is visible when the file is viewed. */
async function onCheckerboard(cutoutPng: Buffer): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(cutoutPng).metadata();
  const board = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++)
    board.fill((((p % width) >> 4) + ((p / width) >> 4)) % 2 ? 200 : 120, p * 3, p * 3 + 3);
  return sharp(board, { raw: { width, height, channels: 3 } })
    .composite([{ input: cutoutPng }])
    .png()
    .toBuffer();
}
