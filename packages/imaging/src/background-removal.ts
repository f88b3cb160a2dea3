import { performance } from "node:perf_hooks";
import sharp from "sharp";
import type { BackgroundRemovalOptions } from "@imagen/core";
import type { DecodedImage } from "./decode.js";
import type { RawImage } from "./encode.js";
import {
  applyCoefficients,
  applyTrimap,
  estimateForeground,
  guidedCoefficients,
  resizePlane,
  type FloatPlane,
} from "./guided-filter.js";
import { addTime, resizeRaw, type RgbImage, type RunContext } from "./image-to-image.js";
import type { LoadedModel } from "./sessions.js";
import { unitToBytes } from "./tensor.js";
import { predictMask } from "./mask-model.js";

/** The stages of background removal after the first model pass; each can be turned off to measure it. */
export interface BackgroundSettings {
  /** Run the main model on the photo and on its mirror image too, and merge the two. */
  flip: boolean;
  /** A second pass of the main model on the padded crop around the subject it found. */
  crop: boolean;
  /** Add the portrait helper's confident person pixels next to the subject (when it is given). */
  portrait: boolean;
  /** Guided-filter refinement to full resolution; off: a plain bilinear resize. */
  refine: boolean;
}

/** Everything on: what `removeBackground` does. */
export const DEFAULT_BACKGROUND_SETTINGS: Readonly<BackgroundSettings> = {
  flip: true,
  crop: true,
  portrait: true,
  refine: true,
};

// Masks are merged, refined and edge colours estimated at most at this many pixels (the fast guided
// filter), which bounds the float buffers (about 12 × 4 B per pixel) whatever the input size.
const WORK_MAX_PIXELS = 1024 * 1024;
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
  const box = { x0: mask.width, y0: mask.height, x1: 0, y1: 0 };
  for (let y = 0, i = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++, i++) {
      if (mask.data[i]! < threshold) continue;
      [box.x0, box.x1] = [Math.min(box.x0, x), Math.max(box.x1, x + 1)];
      [box.y0, box.y1] = [Math.min(box.y0, y), Math.max(box.y1, y + 1)];
    }
  }
  return box.x1 > box.x0 ? box : null;
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
  let t = performance.now();
  const [sx, sy] = [image.width / mask.width, image.height / mask.height];
  const [left, top] = [Math.floor(box.x0 * sx), Math.floor(box.y0 * sy)];
  const region = {
    left,
    top,
    width: Math.max(1, Math.min(image.width, Math.ceil(box.x1 * sx)) - left),
    height: Math.max(1, Math.min(image.height, Math.ceil(box.y1 * sy)) - top),
  };
  const rgb = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract(region)
    .raw()
    .toBuffer();
  addTime(ctx.times, "preMs", t);
  const crop = await predictMask(
    model,
    { rgb, width: region.width, height: region.height },
    flip,
    ctx.signal,
    ctx.times,
  );
  t = performance.now();
  const fine = resizePlane(crop, { width: bw, height: bh });
  const fade = Math.max(1, Math.round(CROP_MARGIN * Math.min(found.x1 - found.x0, found.y1 - found.y0) * 0.5));
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      // Distance to the crop's edge, counting only the edges that lie inside the photo.
      const inside = Math.min(
        box.x0 > 0 ? x : Infinity,
        box.y0 > 0 ? y : Infinity,
        box.x1 < mask.width ? bw - 1 - x : Infinity,
        box.y1 < mask.height ? bh - 1 - y : Infinity,
      );
      const w = Math.min(1, inside / fade);
      const i = (box.y0 + y) * mask.width + box.x0 + x;
      mask.data[i] = w * fine.data[y * bw + x]! + (1 - w) * mask.data[i]!;
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
  const candidate = (i: number): boolean =>
    portrait.data[i]! >= PORTRAIT_CONFIDENT && mask.data[i]! < 0.5 && mask.data[i]! >= PORTRAIT_MAIN_FLOOR;
  const { width, height } = mask;
  const added = new Uint8Array(n);
  const stack: number[] = [];
  const pushNeighbours = (i: number): void => {
    const x = i % width;
    if (x > 0) stack.push(i - 1);
    if (x < width - 1) stack.push(i + 1);
    if (i >= width) stack.push(i - width);
    if (i < (height - 1) * width) stack.push(i + width);
  };
  for (let i = 0; i < n; i++) if (mask.data[i]! >= 0.5) pushNeighbours(i);
  let count = 0;
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (added[i] || !candidate(i)) continue;
    added[i] = 1;
    count++;
    pushNeighbours(i);
  }
  for (let i = 0; i < n; i++) if (added[i]) mask.data[i] = portrait.data[i]!;
  return count;
}

/**
 * Upsamples a soft `mask` (values in [0,1]) to the size of `image` with a colour guided filter
 * (He et al.) whose guide is `guide`, the image at the mask's size, so the mask's edges snap to the
 * picture's edges instead of staying as blurred as the model's output. `radius` is in mask pixels.
 */
function refineMask(mask: FloatPlane, guide: RgbImage, image: RgbImage, radius: number): Buffer {
  return applyCoefficients(guidedCoefficients(guide, mask.data, radius, GUIDED_EPS), image);
}

function applyLevels(data: Buffer, [lo, hi]: readonly [number, number]): void {
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const t = (v / 255 - lo) / (hi - lo);
    table[v] = t <= 0 ? 0 : t >= 1 ? 255 : Math.round(t * 255);
  }
  for (let i = 0; i < data.length; i++) data[i] = table[data[i]!]!;
}

/** The subject's full-size alpha and what its edge colours are estimated from. */
export interface SubjectAlpha {
  /** 0..255, the image's size. */
  alpha: Buffer;
  /** The merged soft mask at the work size (at most `WORK_MAX_PIXELS`). */
  mask: FloatPlane;
  /** The image at the work size. */
  guide: RgbImage;
  /** Half-width of the soft edge band, in work pixels. */
  band: number;
}

/**
 * The full-resolution alpha of the subject of `image`: the main model over the whole photo (and its
 * mirror image), again on the crop around the subject, the portrait helper's person pixels where
 * they help, refined to full size within a trimap band. Progress is reported and `ctx.signal`
 * checked between model runs; stage times go to `ctx.times`.
 */
export async function predictAlpha(
  models: { main: LoadedModel; portrait?: LoadedModel | undefined },
  image: RgbImage,
  settings: BackgroundSettings,
  ctx: RunContext,
): Promise<SubjectAlpha> {
  const whole = await predictMask(models.main, image, settings.flip, ctx.signal, ctx.times);
  let t = performance.now();
  const scale = Math.max(1, Math.sqrt((image.width * image.height) / WORK_MAX_PIXELS));
  const work = {
    width: Math.max(1, Math.round(image.width / scale)),
    height: Math.max(1, Math.round(image.height / scale)),
  };
  const mask = resizePlane(whole, work);
  addTime(ctx.times, "postMs", t);
  await ctx.onProgress(0.3);
  if (settings.crop && (await refineByCrop(models.main, image, mask, settings.flip, ctx))) await ctx.onProgress(0.55);
  if (settings.portrait && models.portrait) {
    const person = await predictMask(models.portrait, image, false, ctx.signal, ctx.times);
    t = performance.now();
    addPortraitPixels(mask, resizePlane(person, work));
    addTime(ctx.times, "postMs", t);
    await ctx.onProgress(0.7);
  }
  ctx.signal.throwIfAborted();
  t = performance.now();
  // Work pixels per pixel of the full-frame model mask: the unit of the radius and the band.
  const modelPx = work.width / whole.width;
  const guide = await resizeRaw(image, work, 3, "cubic");
  const radius = Math.max(1, Math.round(GUIDED_RADIUS_MODEL_PX * modelPx));
  const alpha = settings.refine ? refineMask(mask, guide, image, radius) : unitToBytes(resizePlane(mask, image).data);
  applyLevels(alpha, ALPHA_LEVELS);
  const band = Math.max(1, Math.round(EDGE_BAND_MODEL_PX * modelPx));
  applyTrimap(alpha, image, mask, band);
  addTime(ctx.times, "postMs", t);
  return { alpha, mask, guide, band };
}

/**
 * The encodable result for `options.output`: `cutout` is `rgb` (the subject's colours) with the
 * mask as alpha, `mask` the mask alone (one grey channel), `color` `rgb` composited over
 * `options.background`. `mask` is already multiplied by the input's own alpha.
 */
export function composeOutput(
  image: DecodedImage,
  mask: Buffer,
  options: Pick<BackgroundRemovalOptions, "output" | "background">,
): RawImage {
  const { width, height } = image;
  switch (options.output) {
    case "cutout":
      return { rgb: image.rgb, alpha: mask, width, height };
    case "mask":
      return { rgb: mask, alpha: null, width, height, channels: 1 };
    case "color":
      return { rgb: compositeOver(image.rgb, mask, parseHexColour(options.background)), alpha: null, width, height };
  }
}

function compositeOver(rgb: Buffer, alpha: Buffer, background: readonly [number, number, number]): Buffer {
  const out = Buffer.allocUnsafe(rgb.length);
  for (let p = 0, i = 0; p < alpha.length; p++, i += 3) {
    const a = alpha[p]! / 255;
    for (let c = 0; c < 3; c++) out[i + c] = Math.round(background[c]! + a * (rgb[i + c]! - background[c]!));
  }
  return out;
}

function parseHexColour(hex: string): [number, number, number] {
  const value = Number.parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

/** Multiplies `mask` by `alpha` in place (both 8-bit, same size). */
export function multiplyAlpha(mask: Buffer, alpha: Buffer): void {
  for (let i = 0; i < mask.length; i++) mask[i] = Math.round((mask[i]! * alpha[i]!) / 255);
}

/**
 * Background removal on a decoded image: the subject's alpha from {@link predictAlpha} (the main
 * model alone when `models.portrait` is absent), the old background's colour taken out of the soft
 * edge for `cutout` and `color`, the input's own alpha multiplied in, composed into the requested
 * output. `settings` turns stages off, for measurements.
 */
export async function removeBackground(
  models: { main: LoadedModel; portrait?: LoadedModel | undefined },
  image: DecodedImage,
  options: Pick<BackgroundRemovalOptions, "output" | "background">,
  ctx: RunContext,
  settings: BackgroundSettings = DEFAULT_BACKGROUND_SETTINGS,
): Promise<RawImage> {
  ctx.signal.throwIfAborted();
  const { alpha, mask, guide, band } = await predictAlpha(models, image, settings, ctx);
  await ctx.onProgress(0.9);
  ctx.signal.throwIfAborted();
  const t = performance.now();
  // The background is searched for up to two band widths away: past the soft edge on either side.
  const rgb = options.output === "mask" ? image.rgb : estimateForeground(image, alpha, guide, mask, 2 * band);
  if (image.alpha) multiplyAlpha(alpha, image.alpha);
  const composed = composeOutput({ ...image, rgb }, alpha, options);
  addTime(ctx.times, "postMs", t);
  return composed;
}
