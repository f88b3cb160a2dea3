import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distinctColours, gradients, luma, type Pixels } from "../test/image-metrics.js";
import { COMIC_CONTRACT, COMIC_MODEL_FILE } from "./comic-graph.js";
import { runImageToImage, type RgbImage } from "./image-to-image.js";

const COMMITTED = fileURLToPath(new URL(`../../../models/${COMIC_MODEL_FILE}`, import.meta.url));
const TEST_IMAGES_DIR = fileURLToPath(new URL("../test/images/", import.meta.url));
const PHOTOS = ["cat-chelsea-451x300.png", "coffee-600x400.png", "portrait-astronaut-512x512.png"] as const;

/**
 * Ink: dark in the output (luma < 60) and less than half the photo's luma there, so dark photo
 * regions that merely stay dark do not count as lines.
 */
function inkMask(input: Pixels, output: Pixels): Uint8Array {
  const [before, after] = [luma(input), luma(output)];
  return Uint8Array.from(after, (y, p) => (y < 60 && y < 0.5 * before[p]! ? 1 : 0));
}

/** Pixels within `radius` px (square) of the photo's strongest `share` of Sobel gradients. */
function nearStrongEdges(image: Pixels, share = 0.1, radius = 2): Uint8Array {
  const { width: w, height: h } = image;
  const g = gradients(image);
  const threshold = Float32Array.from(g).sort()[Math.floor(g.length * (1 - share))]!;
  const near = new Uint8Array(w * h);
  for (let r = 1; r < h - 1; r++) {
    for (let c = 1; c < w - 1; c++) {
      if (g[(r - 1) * (w - 2) + (c - 1)]! < threshold) continue;
      for (let y = Math.max(0, r - radius); y <= Math.min(h - 1, r + radius); y++) {
        near.fill(1, y * w + Math.max(0, c - radius), y * w + Math.min(w - 1, c + radius) + 1);
      }
    }
  }
  return near;
}

const count = (mask: Uint8Array): number => mask.reduce((a, b) => a + b, 0);
const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

/** Luma statistics over the box [x0,x1)×[y0,y1). */
function boxLuma(
  image: Pixels,
  [x0, y0, x1, y1]: readonly number[],
): { min: number; median: number; max: number; dark: number } {
  const y = luma(image);
  const values: number[] = [];
  for (let r = y0!; r < y1!; r++) for (let c = x0!; c < x1!; c++) values.push(y[r * image.width + c]!);
  values.sort((a, b) => a - b);
  const dark = values.filter((v) => v < 80).length / values.length;
  return {
    min: Math.round(values[0]!),
    median: Math.round(values[values.length >> 1]!),
    max: Math.round(values.at(-1)!),
    dark: round(dark, 2),
  };
}

/** Boxes on portrait-astronaut-512x512.png, found by eye: [x0, y0, x1, y1]. */
const FACE = {
  leftEye: [192, 95, 212, 108],
  rightEye: [235, 96, 255, 109],
  mouth: [202, 136, 244, 152],
  leftCheek: [188, 115, 204, 130],
  rightCheek: [240, 118, 256, 132],
} as const;

describe("comic graph on real photos", () => {
  let session: ort.InferenceSession;
  const results = new Map<string, { input: Pixels; output: Pixels }>();

  beforeAll(async () => {
    session = await ort.InferenceSession.create(await readFile(COMMITTED), { graphOptimizationLevel: "all" });
    for (const file of PHOTOS) {
      const { data, info } = await sharp(path.join(TEST_IMAGES_DIR, file))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const image: RgbImage = { rgb: data, width: info.width, height: info.height };
      const ctx = { signal: new AbortController().signal, onProgress: () => undefined };
      const out = await runImageToImage(session, COMIC_CONTRACT, image, ctx);
      const saved = path.join(tmpdir(), `imagen-comic-${file}`);
      await sharp(out.rgb, { raw: { width: out.width, height: out.height, channels: 3 } })
        .png()
        .toFile(saved);
      console.log(`comic output for a look by eye: ${saved}`);
      results.set(file, {
        input: { data, width: info.width, height: info.height, channels: 3 },
        output: { data: out.rgb, width: out.width, height: out.height, channels: 3 },
      });
    }
  });
  afterAll(() => session.release());

  const get = (file: string): { input: Pixels; output: Pixels } => {
    const r = results.get(file);
    if (!r) throw new Error(`no comic output for ${file}`);
    return r;
  };

  it.each(PHOTOS)("flattens %s to at most a third of its 5-bit colours", (file) => {
    const { input, output } = get(file);
    const [before, after] = [distinctColours(input), distinctColours(output)];
    console.log(`comic colours ${file}`, JSON.stringify({ before, after, ratio: round(after / before) }));
    // Measured: 0.24 (cat), 0.26 (coffee), 0.21 (astronaut). Most remaining colours are 1–2 px
    // transitions at region borders and line edges, not texture.
    expect(after).toBeLessThanOrEqual(before / 3);
  });

  it.each(PHOTOS)("draws ink on %s along the photo's strong edges, not over its texture", (file) => {
    const { input, output } = get(file);
    const ink = inkMask(input, output);
    const near = nearStrongEdges(input);
    const inkNear = count(ink.map((v, p) => v & near[p]!));
    const m = {
      share: round(count(ink) / ink.length),
      nearStrongEdges: round(inkNear / count(ink)),
      // What ink placed at random would score: the share of the image the edge band covers.
      chance: round(count(near) / near.length),
    };
    console.log(`comic ink ${file}`, JSON.stringify(m));
    // Measured: 2–9 % of the pixels are ink and 95–100 % of them lie in the edge band, which covers
    // 29–36 % of each photo. 0.85 leaves room for parameter tweaks yet is well above chance; 1 % is
    // a floor that catches the lines vanishing.
    expect(m.share).toBeGreaterThanOrEqual(0.01);
    expect(m.share).toBeLessThanOrEqual(0.15);
    expect(m.nearStrongEdges).toBeGreaterThanOrEqual(0.85);
  });

  it("keeps the astronaut's eyes dark against her skin and her mouth contrasted", () => {
    const { input, output } = get("portrait-astronaut-512x512.png");
    const stats = Object.fromEntries(
      Object.entries(FACE).map(([name, box]) => [name, { photo: boxLuma(input, box), comic: boxLuma(output, box) }]),
    );
    console.log("comic face", JSON.stringify(stats));
    const s = (name: keyof typeof FACE) => stats[name]!.comic;
    const skin = Math.min(s("leftCheek").median, s("rightCheek").median);
    expect(skin).toBeGreaterThanOrEqual(150);
    for (const eye of ["leftEye", "rightEye"] as const) {
      expect(s(eye).min).toBeLessThanOrEqual(40);
      expect(skin - s(eye).min).toBeGreaterThanOrEqual(100);
      expect(s(eye).dark).toBeGreaterThanOrEqual(0.1);
    }
    expect(s("mouth").max - s("mouth").min).toBeGreaterThanOrEqual(120);
    expect(s("mouth").dark).toBeGreaterThanOrEqual(0.1);
  });
});
