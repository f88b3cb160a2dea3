/**
 * The `comic` op's procedural ONNX graph: real-time video abstraction after Winnemöller, Olsen and
 * Gooch, "Real-Time Video Abstraction", SIGGRAPH 2006. It is NOT a trained network: every weight is
 * a fixed Gaussian, colour matrix or threshold written out by this file, so the graph runs through
 * the same onnxruntime sessions (CPU or CUDA) and tiling as the learned image→image models.
 *
 * Stages, each a small function below:
 * 1. edge-preserving smoothing: iterated separable bilateral passes in a luma/chroma space;
 * 2. ink lines: difference of Gaussians on the luma of the lightly smoothed image, thresholded with
 *    the paper's smoothed step (1 + tanh);
 * 3. soft quantization of the fully smoothed image (the paper's tanh-smoothed steps) on luma, and,
 *    beyond the paper, more coarsely on two chroma axes, which is what makes the regions flat;
 * 4. compose: quantized colours × ink lines, clamped to [0,1].
 *
 * Every stage is local (no whole-image statistics) and the borders are edge-padded, so a tile with
 * at least {@link COMIC_RECEPTIVE_RADIUS} px of context computes the same pixels as a whole-image run.
 */
import { createGraphBuilder, type GraphBuilder } from "@imagen/onnx-graph";
import type { ModelContract } from "@imagen/catalogue";

/** One bilateral iteration: a horizontal then a vertical pass over taps at `dilation`·k px, |k| ≤ `radius`. */
export interface BilateralIteration {
  radius: number;
  dilation: number;
}

/** The filter's parameters; {@link COMIC_PARAMETERS} holds the committed graph's values. */
export interface ComicParameters {
  /** Bilateral iterations before the lines are extracted (the paper's n_e). */
  smoothBeforeLines: readonly BilateralIteration[];
  /** Further iterations for the colours only (the paper's n_b − n_e). */
  smoothAfterLines: readonly BilateralIteration[];
  /** Spatial σ of the bilateral weights in taps (× dilation px): dilated passes reach further. */
  sigmaSpatial: number;
  /** Range σ on luma (0..1): differences well above it (edges) are not averaged across. */
  sigmaLuma: number;
  /** Range σ on the two chroma axes (about ±0.5). */
  sigmaChroma: number;
  /** σ_e of the DoG's centre Gaussian, px; the surround is √1.6 × wider, as in the paper. */
  dogSigma: number;
  /** τ in D = G_σ − τ·G_√1.6σ: below 1, dark flat areas turn to ink as well. */
  dogTau: number;
  /** Contrast threshold ε: D above −ε stays paper-white, which keeps weak texture out of the lines. */
  dogEpsilon: number;
  /** Sharpness φ_e of the line step 1 + tanh(φ_e·min(0, D + ε)), per unit luma. */
  dogSharpness: number;
  /** Luminance bins of the quantization; the flat output levels are the bin centres. */
  lumaLevels: number;
  /** Sharpness φ_q of the tanh steps, per bin: higher gives flatter bands and harder steps. */
  lumaSharpness: number;
  /** Direction (Cb, Cr) of the warm chroma axis, blue → orange, where skin, hair, wood and fur lie. */
  warmAxis: readonly [number, number];
  /** Bin width on the warm axis, about ±0.5. */
  warmStep: number;
  /** Bin width on the tint axis (green ↔ magenta); a little coarser, so near-neutral colours snap to 0 tint. */
  tintStep: number;
  /** Sharpness φ of the chroma steps, per bin. */
  chromaSharpness: number;
  /** Chroma gain of the output: comic colours are a little more saturated than the photo. */
  saturation: number;
}

/**
 * The committed graph's parameters (models/comic/comic-ink.onnx), tuned by eye and by the metrics
 * in comic-quality.test.ts on the three test photos. Receptive radius 16 px (lines: 2 + 5 px).
 * The quantization steps (φ = 400 per bin, ≈ 32 per L* unit) are harder than the paper's 3–14:
 * its softness buys temporal coherence in video, which stills do not need, and soft steps leave
 * many in-between colours. The line step is near-binary for the same reason.
 */
export const COMIC_PARAMETERS: ComicParameters = {
  smoothBeforeLines: [{ radius: 2, dilation: 1 }],
  smoothAfterLines: [
    { radius: 2, dilation: 2 },
    { radius: 2, dilation: 4 },
    { radius: 2, dilation: 1 },
  ],
  sigmaSpatial: 1.5,
  sigmaLuma: 0.1,
  sigmaChroma: 0.08,
  dogSigma: 1.2,
  dogTau: 0.99,
  dogEpsilon: 0.006,
  dogSharpness: 3000,
  lumaLevels: 8,
  lumaSharpness: 400,
  warmAxis: [-0.74, 0.67],
  warmStep: 0.05,
  tintStep: 0.055,
  chromaSharpness: 400,
  saturation: 1.15,
};

/** BT.601 luma and colour differences Cb, Cr. */
const LUMA = [0.299, 0.587, 0.114];
const CB = [-0.168736, -0.331264, 0.5];
const CR = [0.5, -0.418688, -0.081312];
/**
 * Luma and chroma rotated so the first chroma axis points along `warmAxis`: quantizing the axes
 * separately then keeps the hue of the colours along it instead of snapping a beige to pink. The
 * rotation is orthonormal, so bilateral distances are unchanged; luma's inverse column is [1,1,1].
 */
function lumaWarmTint(p: ComicParameters): number[][] {
  const [cb, cr] = p.warmAxis;
  const norm = Math.hypot(cb, cr);
  const [c, s] = [cb / norm, cr / norm];
  return [LUMA, CB.map((v, i) => c * v + s * CR[i]!), CB.map((v, i) => s * v - c * CR[i]!)];
}

const SURROUND_RATIO = Math.sqrt(1.6);
const gaussianRadius = (sigma: number): number => Math.ceil(3 * sigma);
const reach = (iterations: readonly BilateralIteration[]): number =>
  iterations.reduce((sum, it) => sum + it.radius * it.dilation, 0);

/** The pixels of context each output pixel depends on, on every side. */
export function comicReceptiveRadius(p: ComicParameters): number {
  const lines = reach(p.smoothBeforeLines) + gaussianRadius(p.dogSigma * SURROUND_RATIO);
  return Math.max(lines, reach(p.smoothBeforeLines) + reach(p.smoothAfterLines));
}

/** {@link comicReceptiveRadius} of the committed graph. */
export const COMIC_RECEPTIVE_RADIUS = comicReceptiveRadius(COMIC_PARAMETERS);

/** The graph's input and output names, as the manifest contract names them. */
export const COMIC_INPUT = "input";
export const COMIC_OUTPUT = "output";
/** The committed file, relative to the model dir (a manifest `file` field). */
export const COMIC_MODEL_FILE = "comic/comic-ink.onnx";
/** Recommended tiling: overlap = receptive radius makes tiled output equal a whole-image run. */
export const COMIC_TILE_SIZE = 512;
export const COMIC_TILE_OVERLAP = COMIC_RECEPTIVE_RADIUS;

/** The contract to run the graph under (its manifest entry's `contract`). No `maxSide`: it is local. */
export const COMIC_CONTRACT = {
  input: COMIC_INPUT,
  output: COMIC_OUTPUT,
  layout: "NCHW",
  channels: "RGB",
  range: [0, 1],
  scale: 1,
  multiple: 1,
  tileSize: COMIC_TILE_SIZE,
  tileOverlap: COMIC_TILE_OVERLAP,
  clamp: true,
} as const satisfies ModelContract;

/**
 * Builds the comic graph: `input` float32 [1,3,H,W] RGB in [0,1], H and W dynamic (≥ 1), to
 * `output` float32 [1,3,H,W] RGB in [0,1]. Opset 17, standard ops only. The bytes are a pure
 * function of `p`, so rebuilding the committed file reproduces it exactly.
 */
export function buildComicGraph(p: ComicParameters = COMIC_PARAMETERS): Uint8Array {
  const g = createGraphBuilder();
  const scale = spaceScale(p);
  const space = toSmoothingSpace(g, COMIC_INPUT, scale, p);
  const lightly = smooth(g, space, p.smoothBeforeLines, p.sigmaSpatial);
  const ink = inkLines(g, lightly, scale[0], p);
  const fully = smooth(g, lightly, p.smoothAfterLines, p.sigmaSpatial);
  const colour = quantizedColour(g, fully, scale, p);
  compose(g, colour, ink);
  const radius = comicReceptiveRadius(p);
  return g.build({
    name: "comic-ink",
    inputs: [{ name: COMIC_INPUT, shape: [1, 3, "height", "width"] }],
    outputs: [{ name: COMIC_OUTPUT, shape: [1, 3, "height", "width"] }],
    docString:
      "Procedural comic filter, not a trained network: iterated separable bilateral smoothing, " +
      "tanh-soft quantization of luma and two chroma axes, and thresholded difference-of-Gaussians " +
      "ink lines, after Winnemöller, Olsen and Gooch, Real-Time Video Abstraction, SIGGRAPH 2006. " +
      `Receptive radius ${radius} px. Written by packages/imaging/src/comic-graph.ts.`,
    metadata: { receptive_radius_px: String(radius), parameters: JSON.stringify(p) },
  });
}

/** Channel scales that make a squared distance in the space equal Δ²/(2σ_r²) per channel. */
function spaceScale(p: ComicParameters): [number, number, number] {
  const k = (sigma: number): number => 1 / (Math.SQRT2 * sigma);
  return [k(p.sigmaLuma), k(p.sigmaChroma), k(p.sigmaChroma)];
}

/** RGB → luma, warm, tint, each multiplied by its `scale`: a 1×1 convolution. */
function toSmoothingSpace(g: GraphBuilder, rgb: string, scale: readonly number[], p: ComicParameters): string {
  const weights = lumaWarmTint(p).flatMap((row, c) => row.map((v) => v * scale[c]!));
  return g.node("Conv", [rgb, g.floats("to_space_w", [3, 3, 1, 1], weights)], { hint: "space" });
}

function smooth(g: GraphBuilder, x: string, iterations: readonly BilateralIteration[], sigmaSpatial: number): string {
  let out = x;
  for (const it of iterations) {
    out = bilateralPass(g, out, 3, it, sigmaSpatial);
    out = bilateralPass(g, out, 2, it, sigmaSpatial);
  }
  return out;
}

/**
 * One 1-D bilateral pass along `axis` (2 rows, 3 columns) in the scaled space, written as
 * x + Σ w_k (x_k − x) / (1 + Σ w_k) with w_k = exp(−k²/2σ_s² − |x_k − x|²) for the tap at k·d px:
 * the centre tap weighs 1 and only differences are accumulated. The space is pre-scaled by
 * 1/(√2σ_r), so |x_k − x|² is already the range exponent. Shifted copies come from an edge Pad
 * and Slices; about 20 elementwise values per tap and pixel, which is what sets the speed.
 */
function bilateralPass(g: GraphBuilder, x: string, axis: 2 | 3, it: BilateralIteration, sigmaSpatial: number): string {
  const reachPx = it.radius * it.dilation;
  const padded = padEdge(g, x, axis === 2 ? [reachPx, 0] : [0, reachPx]);
  let num: string | undefined;
  let den: string | undefined;
  for (let k = -it.radius; k <= it.radius; k++) {
    if (k === 0) continue;
    const start = (k + it.radius) * it.dilation;
    // Negative ends count from the end, which keeps H and W dynamic; the last tap runs to the end.
    const end = start === 2 * reachPx ? Number.MAX_SAFE_INTEGER : start - 2 * reachPx;
    const shifted = g.node("Slice", [padded, g.int64s([start]), g.int64s([end]), g.int64s([axis])]);
    const diff = g.node("Sub", [shifted, x]);
    const dist = g.node("ReduceSum", [g.node("Mul", [diff, diff]), g.int64s([1])], { attributes: { keepdims: 1 } });
    // Capped so exp stays a normal float: subnormal weights (exp(−88) and below) make every later
    // multiply-add on them many times slower on x86, and are zero for all purposes here.
    const capped = g.node("Min", [dist, g.scalar(MAX_RANGE_EXPONENT)]);
    const logSpatial = -(k ** 2) / (2 * sigmaSpatial ** 2);
    const w = g.node("Exp", [g.node("Sub", [g.scalar(logSpatial), capped])], { hint: "bilateral_w" });
    const weighted = g.node("Mul", [diff, w]);
    num = num === undefined ? weighted : g.node("Add", [num, weighted]);
    den = g.node("Add", [den ?? g.scalar(1), w]);
  }
  if (num === undefined || den === undefined) return x;
  return g.node("Add", [x, g.node("Div", [num, den])], { hint: "bilateral" });
}

/** exp(−60) ≈ 9e−27: far below any weight that matters, far above float32's subnormals (1.2e−38). */
const MAX_RANGE_EXPONENT = 60;

/** Edge-pads rows by `rows` and columns by `cols` px on both sides (any size ≥ 1 works). */
function padEdge(g: GraphBuilder, x: string, [rows, cols]: [number, number]): string {
  const pads = g.int64s([0, 0, rows, cols, 0, 0, rows, cols]);
  return g.node("Pad", [x, pads], { attributes: { mode: "edge" } });
}

function channel(g: GraphBuilder, x: string, c: number): string {
  return g.node("Slice", [x, g.int64s([c]), g.int64s([c + 1]), g.int64s([1])], { hint: "channel" });
}

/** 1-D Gaussian taps at −r..r, normalised to sum 1. */
function gaussian(sigma: number, radius: number): number[] {
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const sum = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / sum);
}

/**
 * Ink: E = 1 + tanh(φ_e·min(0, D + ε)) with D = G_σ∗Y − τ·G_√1.6σ∗Y on the smoothed luma, so 1 is
 * paper and 0 a full line. Both Gaussians run as one separable pair of convolutions with two
 * output channels; a 1×1 convolution then forms φ_e·(D + ε) in luma units.
 */
function inkLines(g: GraphBuilder, space: string, lumaScale: number, p: ComicParameters): string {
  const radius = gaussianRadius(p.dogSigma * SURROUND_RATIO);
  const kernels = [...gaussian(p.dogSigma, radius), ...gaussian(p.dogSigma * SURROUND_RATIO, radius)];
  const size = 2 * radius + 1;
  const padded = padEdge(g, channel(g, space, 0), [radius, radius]);
  const rows = g.node("Conv", [padded, g.floats("dog_rows_w", [2, 1, 1, size], kernels)]);
  const blurred = g.node("Conv", [rows, g.floats("dog_cols_w", [2, 1, size, 1], kernels)], {
    attributes: { group: 2 },
  });
  const unit = p.dogSharpness / lumaScale;
  const mixW = g.floats("dog_mix_w", [1, 2, 1, 1], [unit, -p.dogTau * unit]);
  const mixB = g.floats("dog_mix_b", [1], [p.dogSharpness * p.dogEpsilon]);
  const response = g.node("Conv", [blurred, mixW, mixB], { hint: "dog" });
  const step = g.node("Tanh", [g.node("Min", [response, g.scalar(0)])]);
  return g.node("Add", [step, g.scalar(1)], { hint: "ink" });
}

/**
 * Soft quantization (the paper's eq. 3) of luma, and more coarsely of chroma: per channel, with u
 * the value in bins and q = round(u) the nearest bin boundary, Q = q + ½·tanh(φ·(u − q)), flat at
 * the bin centres and stepping at the boundaries. Chroma bins are centred on 0 so greys stay grey.
 * The quantized space goes back to RGB through a 1×1 convolution.
 */
function quantizedColour(g: GraphBuilder, space: string, scale: readonly number[], p: ComicParameters): string {
  // u = x·a + b per channel; the space's channel scales are folded into a.
  const a = [p.lumaLevels / scale[0]!, 1 / (p.warmStep * scale[1]!), 1 / (p.tintStep * scale[2]!)];
  const perChannel = (hint: string, values: readonly number[]): string => g.floats(hint, [1, 3, 1, 1], values);
  const u = g.node("Add", [g.node("Mul", [space, perChannel("quant_a", a)]), perChannel("quant_b", [0, 0.5, 0.5])]);
  const offset = g.node("Sub", [u, g.node("Round", [u])]);
  const sharpness = perChannel("quant_phi", [p.lumaSharpness, p.chromaSharpness, p.chromaSharpness]);
  const step = g.node("Tanh", [g.node("Mul", [offset, sharpness])]);
  // x' = x + (Q − u)/a = x + (½·tanh(φ·(u − q)) − (u − q))/a.
  const change = g.node("Sub", [g.node("Mul", [step, g.scalar(0.5)]), offset]);
  const quantized = g.node("Add", [
    space,
    g.node("Mul", [
      change,
      perChannel(
        "quant_inv_a",
        a.map((v) => 1 / v),
      ),
    ]),
  ]);
  const toRgb = g.floats("to_rgb_w", [3, 3, 1, 1], toRgbWeights(scale, p));
  return g.node("Conv", [quantized, toRgb], { hint: "quantized_rgb" });
}

/** The 1×1 convolution weights from the scaled space back to RGB, chroma × `saturation`. */
function toRgbWeights(scale: readonly number[], p: ComicParameters): number[] {
  const inverse = invert3(lumaWarmTint(p));
  const weights: number[] = [];
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) weights.push((inverse[r]![c]! * (c === 0 ? 1 : p.saturation)) / scale[c]!);
  }
  return weights;
}

function invert3(m: number[][]): number[][] {
  const at = (r: number, c: number): number => m[r]![c]!;
  const cofactor = (r: number, c: number): number => {
    const [r1, r2] = [0, 1, 2].filter((i) => i !== r) as [number, number];
    const [c1, c2] = [0, 1, 2].filter((i) => i !== c) as [number, number];
    return ((r + c) % 2 === 0 ? 1 : -1) * (at(r1, c1) * at(r2, c2) - at(r1, c2) * at(r2, c1));
  };
  const det = at(0, 0) * cofactor(0, 0) + at(0, 1) * cofactor(0, 1) + at(0, 2) * cofactor(0, 2);
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => cofactor(c, r) / det));
}

/** Output = clamp(colour × ink, 0, 1), named `output`. */
function compose(g: GraphBuilder, colour: string, ink: string): string {
  const inked = g.node("Mul", [colour, ink]);
  return g.node("Clip", [inked, g.scalar(0), g.scalar(1)], { output: COMIC_OUTPUT });
}
