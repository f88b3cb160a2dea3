import { performance } from "node:perf_hooks";
import { AppError, MAX_DENOISE_SIGMA, type EnhanceOptions } from "@imagen/core";
import type { DecodedImage } from "./decode.js";
import type { RawImage } from "./encode.js";
import {
  addTime,
  resizeRaw,
  runImageToImageBlended,
  runImageToImageFloat,
  type FloatRgbImage,
  type RgbImage,
  type RunContext,
  type TileOverrides,
} from "./image-to-image.js";
import { estimateNoise, measureExposure, type ExposureMeasures, type NoiseEstimate } from "./photo-measures.js";
import type { LoadedModel } from "./sessions.js";
import { unitToBytes } from "./tensor.js";

/** The models enhance runs: the low-light curve model and the denoiser. */
export interface EnhanceModels {
  lowLight: LoadedModel;
  denoiser: LoadedModel;
}

/** What enhance measured on a photo. */
export interface EnhanceMeasures {
  /** On a copy downscaled to {@link PREVIEW_SIDE}. */
  exposure: ExposureMeasures;
  /** On the full-size photo. */
  noise: NoiseEstimate;
  /** Mean luma of the low-light model's output on the same preview; equal to the input's when not run. */
  brightenedLuma: number;
}

/** What enhance does to a photo. */
export interface EnhancePlan {
  /** Weight of the low-light model's output in the blend with its input, 0 (not run) to 1. */
  brighten: number;
  /** Noise σ (0..255 levels) given to the denoiser, which runs first; 0 skips it. */
  sigma: number;
  /** Expected mean-luma gain of the result, 1 when not brightened. */
  gain: number;
}

/** Long side of the copy exposure is measured on; enough for a histogram and a mean. */
export const PREVIEW_SIDE = 256;
// Mean luma (0..255) at or below which auto brightens fully, and at or above which not at all.
// Well-exposed photos measure 100–120 (the test photos 104–119); the dark recipe 14–17, the night bus 30.
const DARK_LUMA = 40;
const EXPOSED_LUMA = 90;
// Auto blends no more of the low-light model than brings the mean luma here: SCI lifts a night photo
// to a daylight mean (the bus: 30 → 111) and it looks foggy and washed out; 95 keeps the night visible.
const TARGET_LUMA = 95;
// Noise below this σ in the result (levels) is left alone: clean photos read 1–2, the dark
// recipe's brightened texture under 3.5; noise is plain to see from about 4 up.
const VISIBLE_SIGMA = 4;

/**
 * Decides from `measures` how much to brighten and what σ to denoise with.
 * - Brightening: `low-light` always, by `strength`; `auto` by `strength` × a weight that is 1 at a
 *   mean luma ≤ 40 and 0 at ≥ 90 (smoothstep), capped so the expected mean stays ≤ 95; `denoise` never.
 * - σ: the `denoise` option when given (0 = off), never scaled. Else measured × `strength`: in
 *   `denoise` mode the fine-scale σ as is; otherwise the σ the brightened result would show
 *   (σ × gain) must reach 4, where a dark photo's σ is the larger of the fine and the coarse reading
 *   (real camera noise is spatially correlated and reads low on the fine scale; darkness flattens
 *   texture, so there the coarse reading is noise, not detail).
 */
export function planEnhancement(
  measures: EnhanceMeasures,
  options: Pick<EnhanceOptions, "mode" | "strength" | "denoise">,
): EnhancePlan {
  const { mode, strength } = options;
  const luma = measures.exposure.meanLuma;
  const darkness = smoothstep((EXPOSED_LUMA - luma) / (EXPOSED_LUMA - DARK_LUMA));
  let brighten = 0;
  if (mode === "low-light") brighten = strength;
  if (mode === "auto") brighten = strength * Math.min(darkness, lumaCap(luma, measures.brightenedLuma));
  const modelGain = measures.brightenedLuma / Math.max(luma, 1);
  const gain = 1 + brighten * Math.max(0, modelGain - 1);
  let sigma = options.denoise;
  if (sigma === undefined) {
    const { fine, coarse } = measures.noise;
    const measured = mode === "denoise" ? fine : Math.max(fine, darkness * coarse);
    const visible = mode === "denoise" || measured * gain >= VISIBLE_SIGMA;
    sigma = visible ? strength * measured : 0;
  }
  return { brighten, sigma: Math.min(MAX_DENOISE_SIGMA, sigma), gain };
}

/** The largest blend weight that keeps the expected mean luma at or below {@link TARGET_LUMA}. */
function lumaCap(luma: number, brightenedLuma: number): number {
  if (luma >= TARGET_LUMA) return 0;
  if (brightenedLuma <= TARGET_LUMA) return 1;
  return (TARGET_LUMA - luma) / (brightenedLuma - luma);
}

function smoothstep(x: number): number {
  const t = Math.min(1, Math.max(0, x));
  return t * t * (3 - 2 * t);
}

// Relative cost of the stages for one overall progress, as measured on CPU at 0.24 MP: measuring
// and SCI about 25 ms each, FFDNet about 2 s.
const COST = { measure: 1, denoise: 50, brighten: 1 } as const;

/**
 * Enhances a decoded photo as `options` say: measures exposure and noise ({@link planEnhancement}),
 * then denoises (on the dark input, where the noise is still stationary), undoes the mean shift
 * clipping gave the noise, and brightens, blending the low-light model's output by the plan's
 * weight. Stages run on float pixels, so stretching the darks shows no 8-bit banding. Progress runs
 * 0→1 once over all stages; `signal` is checked between stages and tiles. Alpha is kept as is.
 */
export async function enhancePhoto(
  models: EnhanceModels,
  decoded: DecodedImage,
  options: EnhanceOptions,
  ctx: RunContext,
  tiles?: TileOverrides,
): Promise<RawImage> {
  for (const { entry } of [models.lowLight, models.denoiser]) {
    if (entry.contract.scale !== 1) {
      throw new AppError(
        "PROCESSING_FAILED",
        `Expected an enhance model of scale 1 but ${entry.id} has ${entry.contract.scale}`,
      );
    }
  }
  ctx.signal.throwIfAborted();
  const measures = await measurePhoto(models.lowLight, decoded, options, ctx, tiles);
  const plan = planEnhancement(measures, options);
  const [measured, denoised] = progressMarks(plan);
  await ctx.onProgress(measured);
  let image: RgbImage | FloatRgbImage = decoded;
  if (plan.sigma > 0) image = await denoise(models.denoiser, image, plan.sigma, stage(ctx, measured, denoised), tiles);
  let rgb: Buffer;
  if (plan.brighten > 0) {
    rgb = (await brighten(models.lowLight, image, plan.brighten, stage(ctx, denoised, 1), tiles)).rgb;
  } else {
    const t = performance.now();
    rgb = "rgb" in image ? Buffer.from(image.rgb) : unitToBytes(image.data);
    addTime(ctx.times, "postMs", t);
  }
  return { rgb, alpha: decoded.alpha, width: decoded.width, height: decoded.height };
}

/** Overall progress when measuring is done and when denoising is; both 1 when nothing runs after. */
function progressMarks(plan: EnhancePlan): [number, number] {
  const denoise = plan.sigma > 0 ? COST.denoise : 0;
  const brighten = plan.brighten > 0 ? COST.brighten : 0;
  const total = COST.measure + denoise + brighten;
  return [COST.measure / total, brighten > 0 ? (COST.measure + denoise) / total : 1];
}

/** The denoiser at σ, then the clipped-noise mean shift undone. */
async function denoise(
  model: LoadedModel,
  image: RgbImage | FloatRgbImage,
  sigma: number,
  ctx: RunContext,
  tiles: TileOverrides | undefined,
): Promise<FloatRgbImage> {
  ctx.signal.throwIfAborted();
  const out = await runImageToImageFloat(model.session, model.entry.contract, image, ctx, { ...tiles, noise: sigma });
  const t = performance.now();
  undoClipBias(out, sigma);
  addTime(ctx.times, "postMs", t);
  return out;
}

/** The low-light model, blended with its input by `weight`, as 8-bit: always the last step. */
async function brighten(
  model: LoadedModel,
  image: RgbImage | FloatRgbImage,
  weight: number,
  ctx: RunContext,
  tiles: TileOverrides | undefined,
): Promise<RgbImage> {
  ctx.signal.throwIfAborted();
  return runImageToImageBlended(model.session, model.entry.contract, image, weight, ctx, tiles);
}

/** Exposure on a preview, noise on the full photo, and the low-light model's mean on the preview. */
async function measurePhoto(
  lowLight: LoadedModel,
  decoded: DecodedImage,
  options: EnhanceOptions,
  ctx: RunContext,
  tiles: TileOverrides | undefined,
): Promise<EnhanceMeasures> {
  let t = performance.now();
  const k = Math.min(1, PREVIEW_SIDE / Math.max(decoded.width, decoded.height));
  const size = {
    width: Math.max(1, Math.round(decoded.width * k)),
    height: Math.max(1, Math.round(decoded.height * k)),
  };
  const preview = await resizeRaw(decoded, size, 3);
  const exposure = measureExposure(preview);
  const noise = estimateNoise(decoded);
  t = addTime(ctx.times, "preMs", t);
  let brightenedLuma = exposure.meanLuma;
  const mayBrighten = options.mode !== "denoise" && options.strength > 0;
  if (mayBrighten) {
    const quiet: RunContext = { signal: ctx.signal, onProgress: () => undefined, times: ctx.times };
    const { session, entry } = lowLight;
    const out = await runImageToImageFloat(session, entry.contract, preview, quiet, tiles);
    t = performance.now();
    brightenedLuma = 255 * meanLuma(out);
    addTime(ctx.times, "postMs", t);
  }
  return { exposure, noise, brightenedLuma };
}

/** A context whose progress 0..1 maps onto `from..to` of the overall progress. */
function stage(ctx: RunContext, from: number, to: number): RunContext {
  return { ...ctx, onProgress: (f) => ctx.onProgress(from + f * (to - from)) };
}

function meanLuma(image: FloatRgbImage): number {
  const { data } = image;
  let sum = 0;
  for (let i = 0; i < data.length; i += 3) sum += 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
  return sum / (image.width * image.height);
}

const BIAS_LUT_SIZE = 4096;

/**
 * Noise clipped at 0 and 255 no longer averages out: a dark pixel's noisy samples average above its
 * true value, and the denoiser keeps that mean, so dark channels come out lifted (a grey-blue veil
 * on a dark photo once brightened). Maps each value back through the inverse of the clipped-Gaussian
 * mean E[clip(x + n, 0, 1)], n ~ N(0, σ²), in place.
 */
export function undoClipBias(image: FloatRgbImage, sigma: number): void {
  const lut = clipBiasInverse(sigma / 255);
  const { data } = image;
  for (let i = 0; i < data.length; i++) {
    const at = Math.min(1, Math.max(0, data[i]!)) * BIAS_LUT_SIZE;
    const j = Math.min(BIAS_LUT_SIZE - 1, Math.floor(at));
    const r = at - j;
    data[i] = lut[j]! * (1 - r) + lut[j + 1]! * r;
  }
}

/** Table of x for mean m = j/size, where m = E[clip(x + n, 0, 1)] (monotone in x, so walk both grids). */
function clipBiasInverse(s: number): Float32Array {
  const n = BIAS_LUT_SIZE;
  const means = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) means[i] = clippedMean(i / n, s);
  const lut = new Float32Array(n + 1);
  let i = 0;
  for (let j = 0; j <= n; j++) {
    const m = j / n;
    while (i < n && means[i + 1]! < m) i++;
    if (m <= means[0]!) lut[j] = 0;
    else if (m >= means[n]!) lut[j] = 1;
    else lut[j] = (i + (m - means[i]!) / (means[i + 1]! - means[i]!)) / n;
  }
  return lut;
}

function clippedMean(x: number, s: number): number {
  const a = -x / s;
  const b = (1 - x) / s;
  return x * (normalCdf(b) - normalCdf(a)) + s * (normalPdf(a) - normalPdf(b)) + (1 - normalCdf(b));
}

function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Φ(z) from Abramowitz & Stegun 7.1.26 (error below 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
