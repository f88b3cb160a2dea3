import { performance } from "node:perf_hooks";
import sharp from "sharp";
import type { ModelContract } from "@imagen/catalogue";
import type { BackgroundRemovalOptions } from "@imagen/core";
import type { DecodedImage } from "./decode.js";
import type { RawImage } from "./encode.js";
import {
  applyCoefficients,
  decontaminate,
  flatCoefficients,
  foregroundPlanes,
  resizePlane,
  trimapOf,
  type FloatPlane,
} from "./guided-filter.js";
import { addTime, resizeRaw, type RgbImage, type RunContext } from "./image-to-image.js";
import { guidedCoefficients } from "./guided-filter-graph.js";
import type { GraphSessions, LoadedModel } from "./sessions.js";
import { planMaskInput, predictMask } from "./mask-model.js";

/** The stages of background removal after the first model pass; each can be turned off to measure it. */
export interface BackgroundSettings {
  /** Run the main model on the photo and on its mirror image too, and merge the two. */
  flip: boolean;
  /** A second pass of the main model on the padded crop around the subject it found. */
  crop: boolean;
  /** Add the portrait helper's confident person pixels next to the subject (when it is given). */
  portrait: boolean;
  /** Guided-filter refinement of the mask; off: a plain bilinear resize. */
  refine: boolean;
}

/** What background removal runs with besides its models: the guided filter is a built graph. */
export interface BackgroundContext extends RunContext {
  graphs: GraphSessions;
}

/** Everything on: what `removeBackground` does. */
export const DEFAULT_BACKGROUND_SETTINGS: Readonly<BackgroundSettings> = {
  flip: true,
  crop: true,
  portrait: true,
  refine: true,
};

// Two bounded resolutions, whatever the input size (long side, aspect kept, never enlarged):
// - the mask grid: masks are merged, and the box statistics of the guided filter, the trimap and
//   the edge colours' background/foreground means are computed on it (the guided filter's graph
//   holds its thirteen statistics and their box means as float32 planes of this size). It is above
//   the models' 320 px, and the test photos (≤ 640 px) fit it whole.
// - the work size: the guided filter's coefficients are applied to the picture at this size, so
//   the alpha follows the picture's edges here; the full-size alpha is one sharp resize of it, and
//   the models' inputs are resized from the picture at this size, not from the full-size one.
// Measured on the quality photos (≤ 640 px): a 512 grid scores as the full-size one did (rocket IoU
// 0.993 against 0.994, the rest equal); a 384 grid lost the thin rocket (0.981). Bench, 2 shared
// CPUs: post-processing 0.96 s → about 0.3 s at 1 MP and 1.2 s → about 0.27 s at 4 MP.
const MASK_MAX_SIDE = 512;
const WORK_MAX_SIDE = 1024;
// Guided filter: the radius is in pixels of the full-frame model mask, so it covers the same share of
// the picture at any input size. Measured on the test photos (radius 2, 4, 6, 8): 2 keeps thin
// subjects (a rocket 24 px wide) that larger boxes erode; eps is a guide variance (RGB in [0,1])
// below which detail counts as flat.
const GUIDED_RADIUS_MODEL_PX = 2;
const GUIDED_EPS = 1e-3;
// Trimap: farther than this (model pixels) from the mask's 50 % outline the alpha is exactly 1 or 0,
// so no model uncertainty shows as a see-through subject; within it the filter draws the soft edge.
const EDGE_BAND_MODEL_PX = 6;
// The crop pass: the subject's box (mask ≥ 0.5) grown by this share of its size on every side,
// widened to an aspect ratio of at most 1.5 (a model with a fixed square input stretches the crop,
// and a tall thin rocket stretched tenfold was segmented worse than before), and skipped when it
// covers most of the photo anyway (the second pass would see the same picture).
const CROP_MARGIN = 0.15;
const CROP_MAX_ASPECT = 1.5;
const CROP_MAX_SHARE = 0.75;
// The portrait helper is trusted only where it is confident, only where the main model is unsure
// (not sure it is background), only next to the subject the main model found, and only when the two
// roughly agree on what the subject is; a plain maximum of the two masks adds the portrait model's
// false positives (measured: mean IoU 0.86 instead of 0.98, 0.63 on the rocket).
const PORTRAIT_CONFIDENT = 0.8;
const PORTRAIT_MAIN_FLOOR = 0.05;
const PORTRAIT_MIN_AGREEMENT = 0.5;

/**
 * Mask values below/above these become 0/1 and the range between is stretched. It removes the
 * faint halo and hair texture the filter lets through and leaves the 50 % edge where it is.
 */
const ALPHA_LEVELS = [0.1, 0.9] as const;

/** A box in pixels, `x1`/`y1` exclusive. */
interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The bounding box of the pixels at or above `threshold`, or `null` when there are none. */
function subjectBox(mask: FloatPlane, threshold: number): Box | null {
  const { width, height, data } = mask;
  let [x0, y0, x1, y1] = [width, height, 0, 0];
  for (let y = 0, i = 0; y < height; y++) {
    let [first, last] = [-1, -1];
    for (let x = 0; x < width; x++, i++) {
      if (data[i]! < threshold) continue;
      if (first < 0) first = x;
      last = x;
    }
    if (first < 0) continue;
    if (first < x0) x0 = first;
    if (last + 1 > x1) x1 = last + 1;
    if (y < y0) y0 = y;
    y1 = y + 1;
  }
  return x1 > x0 ? { x0, y0, x1, y1 } : null;
}

/** The crop for the second pass: `box` grown by the margin, its short side widened, inside `size`. */
export function cropBox(box: Box, size: { width: number; height: number }): Box {
  const dx = Math.round((box.x1 - box.x0) * CROP_MARGIN);
  const dy = Math.round((box.y1 - box.y0) * CROP_MARGIN);
  const grown = {
    x0: Math.max(0, box.x0 - dx),
    y0: Math.max(0, box.y0 - dy),
    x1: Math.min(size.width, box.x1 + dx),
    y1: Math.min(size.height, box.y1 + dy),
  };
  const widen = (lo: number, hi: number, want: number, limit: number): [number, number] => {
    const length = Math.min(limit, Math.ceil(want));
    const start = Math.min(Math.max(0, Math.round((lo + hi - length) / 2)), limit - length);
    return [start, start + length];
  };
  const [w, h] = [grown.x1 - grown.x0, grown.y1 - grown.y0];
  if (w > CROP_MAX_ASPECT * h) {
    const [y0, y1] = widen(grown.y0, grown.y1, w / CROP_MAX_ASPECT, size.height);
    return { ...grown, y0, y1 };
  }
  if (h > CROP_MAX_ASPECT * w) {
    const [x0, x1] = widen(grown.x0, grown.x1, h / CROP_MAX_ASPECT, size.width);
    return { ...grown, x0, x1 };
  }
  return grown;
}

/**
 * Runs the main model again on the crop around the subject of `mask` (work size) and blends its
 * finer mask in: fully inside, fading to the full-frame mask over the outer half of the margin (no
 * seam where the crop ends inside the photo). Returns whether a crop pass ran.
 */
async function refineByCrop(
  model: LoadedModel,
  image: RgbImage,
  mask: FloatPlane,
  flip: boolean,
  ctx: RunContext,
): Promise<boolean> {
  const found = subjectBox(mask, 0.5);
  if (!found) return false;
  const box = cropBox(found, mask);
  const [bw, bh] = [box.x1 - box.x0, box.y1 - box.y0];
  if (bw * bh > CROP_MAX_SHARE * mask.width * mask.height) return false;
  const [sx, sy] = [image.width / mask.width, image.height / mask.height];
  const [left, top] = [Math.floor(box.x0 * sx), Math.floor(box.y0 * sy)];
  const region = {
    left,
    top,
    width: Math.max(1, Math.min(image.width, Math.ceil(box.x1 * sx)) - left),
    height: Math.max(1, Math.min(image.height, Math.ceil(box.y1 * sy)) - top),
  };
  // Cut from the full-size picture (a small subject keeps its detail), in the same sharp pipeline
  // as the resize to the model's input.
  const crop = await predictMask(model, image, flip, ctx.signal, ctx.times, region);
  const t = performance.now();
  const fine = resizePlane(crop, { width: bw, height: bh });
  const fade = Math.max(1, Math.round(CROP_MARGIN * Math.min(found.x1 - found.x0, found.y1 - found.y0) * 0.5));
  // Distance to the crop's edge, counting only the edges that lie inside the photo.
  const [left0, top0] = [box.x0 > 0 ? 0 : -Infinity, box.y0 > 0 ? 0 : -Infinity];
  const [right0, bottom0] = [box.x1 < mask.width ? bw - 1 : Infinity, box.y1 < mask.height ? bh - 1 : Infinity];
  for (let y = 0; y < bh; y++) {
    const dy = Math.min(y - top0, bottom0 - y);
    for (let x = 0, i = (box.y0 + y) * mask.width + box.x0, j = y * bw; x < bw; x++, i++, j++) {
      const inside = Math.min(dy, x - left0, right0 - x);
      const w = inside >= fade ? 1 : inside / fade;
      mask.data[i] = w * fine.data[j]! + (1 - w) * mask.data[i]!;
    }
  }
  addTime(ctx.times, "postMs", t);
  return true;
}

/**
 * Adds to `mask` the pixels the portrait model is confident about (≥ 0.8) where the main mask is
 * unsure (0.05 … 0.5), when they are connected to the main mask's subject and the two masks'
 * foregrounds overlap with IoU ≥ 0.5. Both are the same size. Returns the number of pixels added.
 */
export function addPortraitPixels(mask: FloatPlane, portrait: FloatPlane): number {
  const n = mask.data.length;
  let [intersection, union] = [0, 0];
  for (let i = 0; i < n; i++) {
    const [a, b] = [mask.data[i]! >= 0.5, portrait.data[i]! >= 0.5];
    if (a && b) intersection++;
    if (a || b) union++;
  }
  if (union === 0 || intersection / union < PORTRAIT_MIN_AGREEMENT) return 0;
  const { width, height } = mask;
  const [m, q] = [mask.data, portrait.data];
  // 1: queued (a candidate reached from the subject), 2: not a candidate or already the subject.
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  let top = 0;
  const visit = (i: number): void => {
    if (seen[i]) return;
    if (q[i]! >= PORTRAIT_CONFIDENT && m[i]! < 0.5 && m[i]! >= PORTRAIT_MAIN_FLOOR) {
      seen[i] = 1;
      stack[top++] = i;
    } else seen[i] = 2;
  };
  const visitNeighbours = (i: number): void => {
    const x = i % width;
    if (x > 0) visit(i - 1);
    if (x < width - 1) visit(i + 1);
    if (i >= width) visit(i - width);
    if (i < (height - 1) * width) visit(i + width);
  };
  for (let i = 0; i < n; i++) if (m[i]! >= 0.5) visitNeighbours(i);
  let count = 0;
  while (top > 0) {
    const i = stack[--top]!;
    count++;
    visitNeighbours(i);
  }
  for (let i = 0; i < n; i++) if (seen[i] === 1) m[i] = q[i]!;
  return count;
}

/** The subject's full-size alpha and what its edge colours are estimated from. */
export interface SubjectAlpha {
  /** 0..255, the image's size. */
  alpha: Buffer;
  /** The merged soft mask on the mask grid (long side at most `MASK_MAX_SIDE`). */
  mask: FloatPlane;
  /** The image at the mask grid's size. */
  guide: RgbImage;
  /** Half-width of the soft edge band, in mask-grid pixels. */
  band: number;
}

/** `size` scaled down (aspect kept) so that its long side is at most `maxSide`. */
function fitSide(size: { width: number; height: number }, maxSide: number): { width: number; height: number } {
  const k = Math.min(1, maxSide / Math.max(size.width, size.height));
  return { width: Math.max(1, Math.round(size.width * k)), height: Math.max(1, Math.round(size.height * k)) };
}

/** Mask-grid pixels per pixel of the full-frame model mask: the unit of the radius and the band. */
function modelPixel(grid: { width: number }, whole: { width: number }): number {
  return grid.width / whole.width;
}

function guidedRadius(grid: { width: number }, whole: { width: number }): number {
  return Math.max(1, Math.round(GUIDED_RADIUS_MODEL_PX * modelPixel(grid, whole)));
}

/**
 * Creates the guided filter's graph sessions for the radii of a landscape (or square) photo and a
 * 3:4 portrait that fill the mask grid, so that the first such job does not wait for one (about 30 ms
 * on CPU). The radius follows the model's pixel, so a fixed-input model on other aspect ratios
 * builds its graph on first use.
 */
export async function warmUpRefinement(graphs: GraphSessions, main: ModelContract): Promise<void> {
  const grids = [
    { width: MASK_MAX_SIDE, height: MASK_MAX_SIDE },
    { width: (MASK_MAX_SIDE * 3) / 4, height: MASK_MAX_SIDE },
  ];
  const radii = new Set(grids.map((grid) => guidedRadius(grid, planMaskInput(grid.width, grid.height, main).resized)));
  const tiny = { rgb: new Uint8Array(8 * 8 * 3), width: 8, height: 8 };
  for (const radius of radii) await guidedCoefficients(graphs, tiny, new Float32Array(8 * 8), radius, GUIDED_EPS);
}

/**
 * The full-resolution alpha of the subject of `image`: the main model over the whole photo (and its
 * mirror image), again on the crop around the subject, the portrait helper's person pixels where
 * they help, refined within a trimap band at the bounded work size and resized once to full size.
 * Progress is reported and `ctx.signal` checked between model runs; stage times go to `ctx.times`.
 */
export async function predictAlpha(
  models: { main: LoadedModel; portrait?: LoadedModel | undefined },
  image: RgbImage,
  settings: BackgroundSettings,
  ctx: BackgroundContext,
): Promise<SubjectAlpha> {
  let t = performance.now();
  const workSize = fitSide(image, WORK_MAX_SIDE);
  const grid = fitSide(workSize, MASK_MAX_SIDE);
  const work = await resizeRaw(image, workSize, 3, "cubic");
  addTime(ctx.times, "preMs", t);
  const whole = await predictMask(models.main, work, settings.flip, ctx.signal, ctx.times);
  t = performance.now();
  const mask = resizePlane(whole, grid);
  addTime(ctx.times, "postMs", t);
  await ctx.onProgress(0.3);
  if (settings.crop && (await refineByCrop(models.main, image, mask, settings.flip, ctx))) await ctx.onProgress(0.55);
  if (settings.portrait && models.portrait) {
    const person = await predictMask(models.portrait, work, false, ctx.signal, ctx.times);
    t = performance.now();
    addPortraitPixels(mask, resizePlane(person, grid));
    addTime(ctx.times, "postMs", t);
    await ctx.onProgress(0.7);
  }
  ctx.signal.throwIfAborted();
  t = performance.now();
  const guide = await resizeRaw(work, grid, 3, "cubic");
  const radius = guidedRadius(grid, whole);
  const band = Math.max(1, Math.round(EDGE_BAND_MODEL_PX * modelPixel(grid, whole)));
  const coefficients = settings.refine
    ? await guidedCoefficients(ctx.graphs, guide, mask.data, radius, GUIDED_EPS)
    : flatCoefficients(mask);
  const workAlpha = applyCoefficients(coefficients, work, { levels: ALPHA_LEVELS, trimap: trimapOf(mask, band) });
  const full = { width: image.width, height: image.height };
  const alpha = (await resizeRaw({ rgb: workAlpha, ...workSize }, full, 1, "cubic")).rgb;
  addTime(ctx.times, "postMs", t);
  return { alpha, mask, guide, band };
}

/**
 * The encodable result for `options.output`: `cutout` is `rgb` (the subject's colours) with the
 * mask as alpha, `mask` the mask alone (one grey channel), `color` `rgb` composited over
 * `options.background` (sharp's flatten). `mask` is already multiplied by the input's own alpha.
 */
export async function composeOutput(
  image: DecodedImage,
  mask: Buffer,
  options: Pick<BackgroundRemovalOptions, "output" | "background">,
): Promise<RawImage> {
  const { width, height } = image;
  switch (options.output) {
    case "cutout":
      return { rgb: image.rgb, alpha: mask, width, height };
    case "mask":
      return { rgb: mask, alpha: null, width, height, channels: 1 };
    case "color": {
      // Two pipelines: sharp flattens before it joins channels within one.
      const rgba = await sharp(image.rgb, { raw: { width, height, channels: 3 } })
        .joinChannel(mask, { raw: { width, height, channels: 1 } })
        .raw()
        .toBuffer();
      const rgb = await sharp(rgba, { raw: { width, height, channels: 4 } })
        .flatten({ background: options.background })
        .raw()
        .toBuffer();
      return { rgb, alpha: null, width, height };
    }
  }
}

/**
 * Blacks out the colour of every fully transparent pixel of `rgb` (3 channels, `alpha`'s size), in
 * place. A cut-out then keeps no trace of the background it removed (dropping the alpha channel
 * would show it otherwise), and the runs of zeros cost the PNG encoder less: on a 1 MP portrait
 * cut-out, 36 against 56 ms and 1.31 against 1.93 MB.
 */
export function clearTransparent(rgb: Buffer, alpha: Uint8Array): void {
  for (let i = 0, s = 0; i < alpha.length; i++, s += 3) {
    if (alpha[i] === 0) rgb[s] = rgb[s + 1] = rgb[s + 2] = 0;
  }
}

/** Multiplies `mask` by `alpha` in place (both 8-bit, same size), rounding. */
export function multiplyAlpha(mask: Buffer, alpha: Buffer): void {
  for (let i = 0; i < mask.length; i++) mask[i] = ((mask[i]! * alpha[i]! + 127) / 255) | 0;
}

/**
 * Background removal on a decoded image: the subject's alpha from {@link predictAlpha} (the main
 * model alone when `models.portrait` is absent), the old background's colour taken out of the soft
 * edge for `cutout` and `color`, the input's own alpha multiplied in, a cut-out's clear pixels
 * blacked out ({@link clearTransparent}), composed into the requested output. `settings` turns stages off, for measurements.
 */
export async function removeBackground(
  models: { main: LoadedModel; portrait?: LoadedModel | undefined },
  image: DecodedImage,
  options: Pick<BackgroundRemovalOptions, "output" | "background">,
  ctx: BackgroundContext,
  settings: BackgroundSettings = DEFAULT_BACKGROUND_SETTINGS,
): Promise<RawImage> {
  ctx.signal.throwIfAborted();
  const { alpha, mask, guide, band } = await predictAlpha(models, image, settings, ctx);
  await ctx.onProgress(0.9);
  ctx.signal.throwIfAborted();
  const t = performance.now();
  // The background is searched for up to two band widths away: past the soft edge on either side.
  const rgb =
    options.output === "mask" ? image.rgb : decontaminate(image, alpha, foregroundPlanes(guide, mask, 2 * band));
  if (image.alpha) multiplyAlpha(alpha, image.alpha);
  // decontaminate's copy, so the decoded pixels are left as they are.
  if (options.output === "cutout") clearTransparent(rgb, alpha);
  const composed = await composeOutput({ ...image, rgb }, alpha, options);
  addTime(ctx.times, "postMs", t);
  return composed;
}
