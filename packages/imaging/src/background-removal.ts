import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { AppError, type BackgroundRemovalOptions } from "@imagen/core";
import type { DecodedImage } from "./decode.js";
import type { RawImage } from "./encode.js";
import { applyCoefficients, guidedCoefficients } from "./guided-filter.js";
import { addTime, type RgbImage, type RunContext, type StageTimes } from "./image-to-image.js";
import type { ModelContract } from "./models.js";
import { hwcToNchw } from "./tensor.js";

/** An 8-bit single-channel image (a mask). */
export interface GreyImage {
  data: Buffer;
  width: number;
  height: number;
}

/** How the image is fitted into the model's input: resized, then edge-padded to the multiple. */
export interface MaskInputPlan {
  /** Size of the aspect-preserving resize. */
  resized: { width: number; height: number };
  /** Tensor size: `resized` padded up to the contract's multiple. */
  padded: { width: number; height: number };
  /** Where the resized image sits inside the padded tensor (padding is split evenly). */
  offset: { x: number; y: number };
}

// Guided-filter settings, tuned on the astronaut portrait (real-models test). The radius is in
// model-mask pixels so it covers the same share of the picture at any input size: the blur of an
// upsampled 320-px mask is a few model pixels wide and the box must straddle it. Larger radii snap
// the silhouette closer to the edges but grow a faint halo; eps is a guide variance (RGB in [0,1])
// below which detail is treated as flat rather than as an edge.
const GUIDED_RADIUS_MODEL_PX = 4;
const GUIDED_EPS = 1e-3;
// The coefficients are computed at most at this many pixels (fast guided filter), which bounds
// the float buffers (about 9 × 4 B per pixel) whatever the input size.
const GUIDED_MAX_PIXELS = 1024 * 1024;

/**
 * Mask values below/above these become 0/1 and the range between is stretched. It removes the
 * faint halo and hair texture the filter lets through and leaves the 50 % edge where it is.
 */
export const ALPHA_LEVELS = [0.1, 0.9] as const;

/**
 * Plans the model input for a `width`×`height` image: the long side resized to the contract's
 * `tileSize` (rounded down to its `multiple`), the short side in proportion, both padded up to the
 * multiple. Aspect-preserving resizing segments better than stretching (MODELS.md, measured).
 */
export function planMaskInput(width: number, height: number, contract: ModelContract): MaskInputPlan {
  const { multiple } = contract;
  const long = Math.max(multiple, Math.floor(contract.tileSize / multiple) * multiple);
  const scale = long / Math.max(width, height);
  const resized = { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
  const padded = {
    width: Math.ceil(resized.width / multiple) * multiple,
    height: Math.ceil(resized.height / multiple) * multiple,
  };
  const offset = {
    x: Math.floor((padded.width - resized.width) / 2),
    y: Math.floor((padded.height - resized.height) / 2),
  };
  return { resized, padded, offset };
}

/**
 * Runs a segmentation model once on the whole `image` (no tiling: the model needs the whole
 * picture) and returns its foreground probability at the resized size, padding cropped, clamped
 * and scaled to 0..255.
 */
export async function predictMask(
  session: ort.InferenceSession,
  contract: ModelContract,
  image: RgbImage,
  signal: AbortSignal,
  times?: StageTimes,
): Promise<GreyImage> {
  let t = performance.now();
  const plan = planMaskInput(image.width, image.height, contract);
  const { resized, padded, offset } = plan;
  const small = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(resized.width, resized.height, { kernel: "lanczos3", fit: "fill" })
    .raw()
    .toBuffer();
  signal.throwIfAborted();
  const data = new Float32Array(3 * padded.width * padded.height);
  // A window that starts before the image and reaches past it repeats the edge pixels: edge padding.
  hwcToNchw(small, resized, { x: -offset.x, y: -offset.y, ...padded }, data, contract.range);
  const input = new ort.Tensor("float32", data, [1, 3, padded.height, padded.width]);
  t = addTime(times, "preMs", t);
  const result = await session.run({ [contract.input]: input });
  t = addTime(times, "inferMs", t);
  const output = result[contract.output];
  const expected = [1, 1, padded.height, padded.width];
  if (!output || output.type !== "float32" || output.dims.join() !== expected.join()) {
    throw new AppError(
      "PROCESSING_FAILED",
      `Expected model output ${contract.output} float32 [${expected.join(",")}] but received ${output ? `${output.type} [${output.dims.join(",")}]` : "none"}`,
    );
  }
  const mask = cropMask(output.data as Float32Array, plan);
  output.dispose();
  addTime(times, "postMs", t);
  return mask;
}

function cropMask(probabilities: Float32Array, plan: MaskInputPlan): GreyImage {
  const { resized, padded, offset } = plan;
  const data = Buffer.allocUnsafe(resized.width * resized.height);
  for (let y = 0; y < resized.height; y++) {
    const row = (y + offset.y) * padded.width + offset.x;
    for (let x = 0; x < resized.width; x++) {
      const v = probabilities[row + x]!;
      // `!(v > 0)` also sends NaN to 0.
      data[y * resized.width + x] = !(v > 0) ? 0 : v >= 1 ? 255 : Math.round(v * 255);
    }
  }
  return { data, ...resized };
}

/**
 * Upsamples a low-resolution `mask` to the size of `image` with a colour guided filter (He et al.)
 * guided by the image itself, so the mask's edges snap to the picture's edges instead of staying
 * as blurred as the model's output. Memory is bounded by `GUIDED_MAX_PIXELS`.
 */
export async function refineMask(mask: GreyImage, image: RgbImage): Promise<GreyImage> {
  const scale = Math.max(1, Math.sqrt((image.width * image.height) / GUIDED_MAX_PIXELS));
  const work = {
    width: Math.max(1, Math.round(image.width / scale)),
    height: Math.max(1, Math.round(image.height / scale)),
  };
  const [guide, input] = await Promise.all([resizeRgb(image, work), resizeGrey(mask, work, "cubic")]);
  const radius = Math.max(1, Math.round((GUIDED_RADIUS_MODEL_PX * work.width) / mask.width));
  const coefficients = guidedCoefficients(guide, toFloat(input.data), radius, GUIDED_EPS);
  const data = applyCoefficients(coefficients, image);
  applyLevels(data, ALPHA_LEVELS);
  return { data, width: image.width, height: image.height };
}

function applyLevels(data: Buffer, [lo, hi]: readonly [number, number]): void {
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const t = (v / 255 - lo) / (hi - lo);
    table[v] = t <= 0 ? 0 : t >= 1 ? 255 : Math.round(t * 255);
  }
  for (let i = 0; i < data.length; i++) data[i] = table[data[i]!]!;
}

/** Resizes an 8-bit grey image (a no-op at the same size). */
export async function resizeGrey(
  image: GreyImage,
  size: { width: number; height: number },
  kernel: "cubic" | "lanczos3",
): Promise<GreyImage> {
  if (image.width === size.width && image.height === size.height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 1 } })
    .resize(size.width, size.height, { kernel, fit: "fill" })
    // sharp returns 3 channels for a resized 1-channel raw buffer (MODELS.md practical notes).
    .extractChannel(0)
    .raw()
    .toBuffer();
  return { data, ...size };
}

async function resizeRgb(image: RgbImage, size: { width: number; height: number }): Promise<RgbImage> {
  if (image.width === size.width && image.height === size.height) return image;
  const rgb = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size.width, size.height, { kernel: "cubic", fit: "fill" })
    .raw()
    .toBuffer();
  return { rgb, ...size };
}

function toFloat(data: Uint8Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < out.length; i++) out[i] = data[i]! / 255;
  return out;
}

/**
 * The encodable result for `options.output`: `cutout` is the RGB with the mask as alpha, `mask`
 * the mask alone (one grey channel), `color` the RGB composited over `options.background`.
 * `mask` is already multiplied by the input's own alpha.
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
 * Background removal on a decoded image: predict the mask, refine it to full resolution, respect
 * the input's alpha, compose the requested output. `signal` is checked and progress reported
 * between stages.
 */
export async function removeBackground(
  session: ort.InferenceSession,
  contract: ModelContract,
  image: DecodedImage,
  options: Pick<BackgroundRemovalOptions, "output" | "background">,
  ctx: RunContext,
): Promise<RawImage> {
  ctx.signal.throwIfAborted();
  const small = await predictMask(session, contract, image, ctx.signal, ctx.times);
  await ctx.onProgress(0.5);
  ctx.signal.throwIfAborted();
  let t = performance.now();
  const mask = await refineMask(small, image);
  if (image.alpha) multiplyAlpha(mask.data, image.alpha);
  t = addTime(ctx.times, "postMs", t);
  await ctx.onProgress(0.9);
  ctx.signal.throwIfAborted();
  t = performance.now();
  const composed = composeOutput(image, mask.data, options);
  addTime(ctx.times, "postMs", t);
  return composed;
}
