import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idle, idleWithGraphs, openRealPipelines, TEST_IMAGES_DIR } from "../test/model-fixtures.js";
import {
  loadReference,
  rasterizeReference,
  scoreEdges,
  scoreMask,
  type Labels,
  type ReferenceMask,
} from "../test/reference-masks.js";
import { DEFAULT_BACKGROUND_SETTINGS, removeBackground, type BackgroundSettings } from "./background-removal.js";
import type { ModelRegistry } from "@imagen/catalogue";
import type { Pipelines } from "./pipelines.js";
import type { LoadedModel, SessionCache } from "./sessions.js";

/** The photos of test/images with a reference mask (masks/<stem>.json). */
const PHOTOS = [
  "portrait-astronaut-512x512.png",
  "photographer-camera-512x512.png",
  "portrait-hopper-512x600.jpg",
  "cat-chelsea-451x300.png",
  "coffee-600x400.png",
  "rocket-falcon9-640x427.jpg",
  "raccoon-procyon-640x480.jpg",
] as const;

interface Photo {
  file: string;
  stem: string;
  bytes: Buffer;
  rgb: Buffer;
  width: number;
  height: number;
  ref: ReferenceMask;
  labels: Labels;
}

const cutout = { output: "cutout", background: "#ffffff" } as const;
const round = (n: number, digits = 3): number => Number(n.toFixed(digits));
const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

async function loadPhoto(file: string): Promise<Photo> {
  const bytes = await readFile(path.join(TEST_IMAGES_DIR, file));
  const { data, info } = await sharp(bytes)
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  const stem = file.replace(/\.[a-z]+$/, "");
  const ref = await loadReference(TEST_IMAGES_DIR, stem);
  expect([ref.width, ref.height]).toEqual([info.width, info.height]);
  return {
    file,
    stem,
    bytes,
    rgb: data,
    width: info.width,
    height: info.height,
    ref,
    labels: rasterizeReference(ref, data),
  };
}

async function alphaOf(png: Buffer): Promise<Buffer> {
  return sharp(png).extractChannel(3).raw().toBuffer();
}

/** The cutout over a grey checkerboard, saved to the temp dir for a look by eye; returns the path. */
async function keep(name: string, rgb: Buffer, alpha: Buffer, width: number, height: number): Promise<string> {
  const out = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const board = (((p % width) >> 3) + (Math.floor(p / width) >> 3)) % 2 ? 200 : 120;
    for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.round(board + (alpha[p]! / 255) * (rgb[p * 3 + c]! - board));
  }
  const file = path.join(tmpdir(), `imagen-quality-background-${name}.png`);
  await writeFile(
    file,
    await sharp(out, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer(),
  );
  return file;
}

describe("background removal on real photos against hand-made references", () => {
  let sessions: SessionCache;
  let registry: ModelRegistry;
  let pipelines: Pipelines;
  let photos: Photo[];
  /** The default pipeline's alpha per photo stem, filled by the first test. */
  const results = new Map<string, { alpha: Buffer; rgb: Buffer }>();
  const load = async (id: string): Promise<LoadedModel> => ({
    entry: registry.get(id),
    session: await sessions.get(await registry.resolve(id)),
  });

  beforeAll(async () => {
    ({ sessions, registry, pipelines } = await openRealPipelines());
    photos = await Promise.all(PHOTOS.map(loadPhoto));
    await pipelines.warmUp(["background-removal"]);
  });
  afterAll(() => sessions.close());

  it("cuts out every photo with IoU ≥ 0.80 against its reference, ≥ 0.90 on average", async () => {
    const ious: number[] = [];
    for (const photo of photos) {
      const result = await pipelines.run("background-removal", photo.bytes, cutout, idle);
      expect(result.models).toEqual(["u2netp", "sinet-portrait"]);
      expect([result.width, result.height, result.format]).toEqual([photo.width, photo.height, "png"]);
      const { data, info } = await sharp(result.data).raw().toBuffer({ resolveWithObject: true });
      expect(info.channels).toBe(4);
      const rgb = Buffer.alloc(photo.width * photo.height * 3);
      for (let p = 0; p < photo.width * photo.height; p++) data.copy(rgb, p * 3, p * 4, p * 4 + 3);
      const alpha = await alphaOf(result.data);
      results.set(photo.stem, { alpha, rgb });
      const score = scoreMask(alpha, photo.labels.labels);
      const saved = await keep(photo.stem, rgb, alpha, photo.width, photo.height);
      console.log(
        `quality background ${photo.stem}`,
        JSON.stringify({ iou: round(score.iou), ms: result.timings }),
        saved,
      );
      ious.push(score.iou);
      expect(score.iou, photo.stem).toBeGreaterThanOrEqual(0.8);
    }
    expect(mean(ious)).toBeGreaterThanOrEqual(0.9);
  }, 120_000);

  it("beats the portrait model alone on every photo that is not of a person", async () => {
    for (const photo of photos.filter((p) => !p.ref.person)) {
      const alone = await pipelines.run(
        "background-removal",
        photo.bytes,
        { ...cutout, model: "sinet-portrait" },
        idle,
      );
      const sinet = scoreMask(await alphaOf(alone.data), photo.labels.labels).iou;
      const ours = scoreMask(results.get(photo.stem)!.alpha, photo.labels.labels).iou;
      console.log(`quality background ${photo.stem} vs sinet-portrait alone`, round(ours), round(sinet));
      expect(ours, photo.stem).toBeGreaterThan(sinet + 0.02);
    }
  }, 60_000);

  it("runs the portrait model alone when it is named, and it still finds the astronaut", async () => {
    const astronaut = photos[0]!;
    const alone = await pipelines.run(
      "background-removal",
      astronaut.bytes,
      { ...cutout, model: "sinet-portrait" },
      idle,
    );
    expect(alone.models).toEqual(["sinet-portrait"]);
    expect(scoreMask(await alphaOf(alone.data), astronaut.labels.labels).iou).toBeGreaterThanOrEqual(0.9);
  });

  it("leaves no halo just outside the subject and keeps the edge soft, not jagged", () => {
    const halos: number[] = [];
    for (const photo of photos) {
      const edges = scoreEdges(results.get(photo.stem)!.alpha, photo.ref, photo.labels);
      console.log(
        `quality background ${photo.stem} edges`,
        JSON.stringify({ halo: round(edges.halo), soft: round(edges.soft) }),
      );
      // The ring just outside the outline: the astronaut's is 0.13 (u2netp keeps a strip of the flag
      // beside her arm) and the raccoon's 0.22 (leaves that cross its face stay in the cut-out).
      expect(edges.halo, photo.stem).toBeLessThan(0.25);
      // Within the outline band, some alpha is in between (soft), and not all of it (blurred).
      expect(edges.soft, photo.stem).toBeGreaterThan(0.15);
      expect(edges.soft, photo.stem).toBeLessThan(0.9);
      halos.push(edges.halo);
    }
    expect(halos.filter((h) => h < 0.06).length).toBeGreaterThanOrEqual(5);
  });

  it.each([
    ["raccoon-procyon-640x480", "green leaves", (r: number, g: number, b: number) => g - Math.max(r, b)],
    ["portrait-hopper-512x600", "blue backdrop", (r: number, g: number, b: number) => b - Math.max(r, g)],
  ] as const)("takes the old background's colour out of the soft edge (%s, %s)", (stem, _what, tint) => {
    const photo = photos.find((p) => p.stem === stem)!;
    const { alpha, rgb } = results.get(stem)!;
    let [before, after, count] = [0, 0, 0];
    for (let p = 0; p < alpha.length; p++) {
      if (alpha[p]! <= 25 || alpha[p]! >= 230) continue;
      before += tint(photo.rgb[p * 3]!, photo.rgb[p * 3 + 1]!, photo.rgb[p * 3 + 2]!);
      after += tint(rgb[p * 3]!, rgb[p * 3 + 1]!, rgb[p * 3 + 2]!);
      count++;
    }
    console.log(`quality background ${stem} edge tint`, round(before / count, 1), "→", round(after / count, 1));
    expect(count).toBeGreaterThan(500);
    // Measured: raccoon -1.6 → -20.1 (the leaves' green is gone), Hopper -18.7 → -28.5.
    expect(after / count).toBeLessThan(before / count - 5);
  });

  it("gains from each stage: mirror image, crop pass, portrait helper", async () => {
    const [main, portrait] = [await load("u2netp"), await load("sinet-portrait")];
    const stages: Record<string, BackgroundSettings> = {
      plain: { ...DEFAULT_BACKGROUND_SETTINGS, flip: false, crop: false, portrait: false },
      flip: { ...DEFAULT_BACKGROUND_SETTINGS, crop: false, portrait: false },
      crop: { ...DEFAULT_BACKGROUND_SETTINGS, portrait: false },
    };
    const table: Record<string, Record<string, number>> = {};
    for (const photo of photos) {
      const image = { rgb: photo.rgb, alpha: null, width: photo.width, height: photo.height };
      const row: Record<string, number> = {};
      for (const [name, settings] of Object.entries(stages)) {
        const out = await removeBackground(
          { main, portrait },
          image,
          { output: "mask", background: "#ffffff" },
          idleWithGraphs,
          settings,
        );
        row[name] = round(scoreMask(out.rgb, photo.labels.labels).iou);
      }
      row.full = round(scoreMask(results.get(photo.stem)!.alpha, photo.labels.labels).iou);
      table[photo.stem] = row;
    }
    console.table(table);
    const column = (name: string): number[] => Object.values(table).map((row) => row[name]!);
    expect(mean(column("flip"))).toBeGreaterThan(mean(column("plain")));
    expect(mean(column("crop"))).toBeGreaterThan(mean(column("flip")));
    expect(mean(column("full"))).toBeGreaterThan(mean(column("crop")));
    expect(Math.min(...column("full"))).toBeGreaterThan(Math.min(...column("plain")));
  }, 120_000);

  it("draws the astronaut's hair where the picture has it (pixel-exact head outline)", async () => {
    const astronaut = photos[0]!;
    // Only the head box, where the reference is a flood fill through the grey backdrop: no band.
    const exact = rasterizeReference({ ...astronaut.ref, bandPx: 0, ignore: [] }, astronaut.rgb);
    const head = exact.labels.map((label, i) => (i % 512 >= 140 && i % 512 < 320 && i < 150 * 512 ? label : -1));
    const main = await load("u2netp");
    const image = { rgb: astronaut.rgb, alpha: null, width: 512, height: 512 };
    const plain = await removeBackground({ main }, image, { output: "mask", background: "#ffffff" }, idleWithGraphs, {
      ...DEFAULT_BACKGROUND_SETTINGS,
      refine: false,
    });
    const refined = scoreMask(results.get(astronaut.stem)!.alpha, head);
    const resized = scoreMask(plain.rgb, head);
    console.log("quality background astronaut head", JSON.stringify({ refined, resized }));
    expect(refined.iou).toBeGreaterThanOrEqual(0.97);
    expect(refined.softError).toBeLessThanOrEqual(resized.softError);
  });

  it("handles a 2-megapixel photo at its full size", async () => {
    const astronaut = photos[0]!;
    const big = await sharp(astronaut.bytes).resize(1448, 1448, { kernel: "lanczos3" }).png().toBuffer();
    const started = performance.now();
    const result = await pipelines.run("background-removal", big, cutout, idle);
    const ms = Math.round(performance.now() - started);
    console.log("quality background 1448² (2.1 MP)", ms, "ms", JSON.stringify(result.timings));
    expect([result.width, result.height]).toEqual([1448, 1448]);
    const alpha = await sharp(await alphaOf(result.data), { raw: { width: 1448, height: 1448, channels: 1 } })
      .resize(512, 512, { kernel: "cubic" })
      .extractChannel(0)
      .raw()
      .toBuffer();
    expect(scoreMask(alpha, astronaut.labels.labels).iou).toBeGreaterThanOrEqual(0.95);
  }, 60_000);
});
