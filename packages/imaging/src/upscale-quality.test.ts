import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { psnr, rgbPixels } from "../test/image-metrics.js";
import { meanLaplacian } from "../test/sharpness.js";
import { idle, openRealPipelines, TEST_IMAGES_DIR } from "../test/model-fixtures.js";
import { runImageToImage } from "./image-to-image.js";
import type { ModelRegistry } from "@imagen/catalogue";
import type { Pipelines } from "./pipelines.js";
import type { SessionCache } from "./sessions.js";

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** Writes `png` to the temp dir for a look by eye and returns its path. */
async function keep(name: string, png: Buffer): Promise<string> {
  const file = path.join(tmpdir(), `imagen-quality-upscale-${name}.png`);
  await writeFile(file, png);
  return file;
}

/**
 * A photo shrunk ×4 (cubic) and the original it came from. Sizes are multiples of 4 so the ×4
 * result has exactly the original's size.
 */
async function heldOut(file: string, width: number, height: number): Promise<{ original: Buffer; small: Buffer }> {
  const original = await sharp(path.join(TEST_IMAGES_DIR, file))
    .removeAlpha()
    .extract({ left: 0, top: 0, width, height })
    .png()
    .toBuffer();
  const small = await sharp(original)
    .resize(width / 4, height / 4, { kernel: "cubic" })
    .png()
    .toBuffer();
  return { original, small };
}

const PHOTOS = [
  ["coffee", "coffee-600x400.png", 600, 400],
  ["cat", "cat-chelsea-451x300.png", 448, 300],
  ["astronaut", "portrait-astronaut-512x512.png", 512, 512],
] as const;

describe("upscale on held-out photos (shrunk ×4, upscaled back) with the default model", () => {
  let sessions: SessionCache;
  let pipelines: Pipelines;
  let registry: ModelRegistry;
  const detail: number[] = [];
  beforeAll(async () => {
    ({ sessions, pipelines, registry } = await openRealPipelines());
  });
  afterAll(() => sessions.close());

  it.each(PHOTOS)(
    "%s: real detail (mean |Laplacian| ≥ 2× bicubic's) within 2.5 dB of bicubic",
    async (name, file, w, h) => {
      const { original, small } = await heldOut(file, w, h);
      const result = await pipelines.run("upscale", small, { scale: 4, format: "png" }, idle);
      const bicubicPng = await sharp(small).resize(w, h, { kernel: "cubic" }).png().toBuffer();
      const [ref, sr, bicubic] = await Promise.all([
        rgbPixels(original),
        rgbPixels(result.data),
        rgbPixels(bicubicPng),
      ]);
      const m = {
        laplacianVsBicubic: {
          model: round(meanLaplacian(sr) / meanLaplacian(bicubic)),
          original: round(meanLaplacian(ref) / meanLaplacian(bicubic)),
        },
        psnrDb: { model: round(psnr(sr, ref)), bicubic: round(psnr(bicubic, ref)) },
      };
      console.log(`quality upscale ${name}`, result.models.join("+"), JSON.stringify(m), await keep(name, result.data));

      expect(result.models).toEqual([registry.defaultFor("upscale").id]);
      expect([result.width, result.height]).toEqual([w, h]);
      expect(m.laplacianVsBicubic.model).toBeGreaterThanOrEqual(2);
      expect(m.psnrDb.model).toBeGreaterThan(m.psnrDb.bicubic - 2.5);
      detail.push(m.laplacianVsBicubic.model);
    },
  );

  it("averaged over the photos, the detail is at least 2.6× bicubic's", () => {
    expect(detail).toHaveLength(PHOTOS.length);
    expect(detail.reduce((a, b) => a + b, 0) / detail.length).toBeGreaterThanOrEqual(2.6);
  });

  it("quality best (x4plus) draws more detail than balanced, staying faithful", async () => {
    const { original, small } = await heldOut("cat-chelsea-451x300.png", 448, 300);
    const [balanced, best] = [
      await pipelines.run("upscale", small, { scale: 4, format: "png" }, idle),
      await pipelines.run("upscale", small, { scale: 4, quality: "best", format: "png" }, idle),
    ];
    const bicubic = await rgbPixels(await sharp(small).resize(448, 300, { kernel: "cubic" }).png().toBuffer());
    const [ref, a, b] = await Promise.all([rgbPixels(original), rgbPixels(balanced.data), rgbPixels(best.data)]);
    console.log(
      "quality upscale best",
      round(meanLaplacian(b) / meanLaplacian(bicubic)),
      await keep("cat-best", best.data),
    );
    expect(best.models).toEqual(["realesrgan-x4plus"]);
    expect(meanLaplacian(b)).toBeGreaterThan(meanLaplacian(a));
    expect(psnr(b, ref)).toBeGreaterThan(psnr(bicubic, ref) - 2.5);
  });

  it("×2 and ×3 are the ×4 result downscaled: the size asked for, the same picture", async () => {
    const input = await sharp(path.join(TEST_IMAGES_DIR, "cat-chelsea-451x300.png")).resize(150, 100).png().toBuffer();
    const x4 = await pipelines.run("upscale", input, { scale: 4, format: "png" }, idle);
    for (const scale of [2, 3] as const) {
      const result = await pipelines.run("upscale", input, { scale, format: "png" }, idle);
      expect([result.width, result.height]).toEqual([150 * scale, 100 * scale]);
      const fromX4 = await rgbPixels(
        await sharp(x4.data)
          .resize(150 * scale, 100 * scale)
          .png()
          .toBuffer(),
      );
      expect(psnr(await rgbPixels(result.data), fromX4)).toBeGreaterThan(30);
    }
  });

  it("an illustration model is selectable by id", async () => {
    const input = await readFile(path.join(TEST_IMAGES_DIR, "coffee-600x400.png"));
    const small = await sharp(input).resize(64, 48).png().toBuffer();
    const result = await pipelines.run("upscale", small, { scale: 4, model: "realesrgan-x4plus-anime6b" }, idle);
    expect([result.width, result.height, result.models]).toEqual([256, 192, ["realesrgan-x4plus-anime6b"]]);
  });

  it.each(["realesr-general-x4v3", "realesrgan-x4plus"])(
    "%s: tiles with the catalogue's overlap match a whole-image run",
    async (id) => {
      const entry = registry.get(id);
      const session = await sessions.get(await registry.resolve(id));
      const { data, info } = await sharp(path.join(TEST_IMAGES_DIR, "cat-chelsea-451x300.png"))
        .extract({ left: 150, top: 60, width: 96, height: 72 })
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const image = { rgb: data, width: info.width, height: info.height };
      const whole = await runImageToImage(session, entry.contract, image, idle, { tileSize: 128 });
      const tiled = await runImageToImage(session, entry.contract, image, idle, {
        tileSize: 2 * entry.contract.tileOverlap + 24,
      });
      let sum = 0;
      let max = 0;
      for (let i = 0; i < whole.rgb.length; i++) {
        const d = Math.abs(whole.rgb[i]! - tiled.rgb[i]!);
        sum += d;
        max = Math.max(max, d);
      }
      console.log(
        `tiling ${id}: overlap ${entry.contract.tileOverlap}, mean diff ${sum / whole.rgb.length}, max ${max}`,
      );
      expect(sum / whole.rgb.length).toBeLessThan(0.25);
    },
    // x4plus on CPU: a whole run and four tiles, about 20 s on 2 idle cores.
    90_000,
  );
});
