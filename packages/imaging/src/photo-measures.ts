import type { RgbImage } from "./image-to-image.js";

/** How a photo is exposed, from its luma (Rec. 601, 0..255); measured on a downscaled copy. */
export interface ExposureMeasures {
  meanLuma: number;
  medianLuma: number;
  /** 99th percentile: where the highlights are. */
  p99Luma: number;
  /** Share of pixels with a channel at 255. */
  clippedShare: number;
}

/** Mean luma, its median and 99th percentile (from a 256-bin histogram), and the clipped share. */
export function measureExposure(image: RgbImage): ExposureMeasures {
  const { rgb } = image;
  const pixels = image.width * image.height;
  const histogram = new Float64Array(256);
  let sum = 0;
  let clipped = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    const r = rgb[i]!;
    const g = rgb[i + 1]!;
    const b = rgb[i + 2]!;
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    sum += y;
    histogram[Math.round(y)]! += 1;
    if (r === 255 || g === 255 || b === 255) clipped++;
  }
  return {
    meanLuma: sum / pixels,
    medianLuma: percentile(histogram, pixels, 0.5),
    p99Luma: percentile(histogram, pixels, 0.99),
    clippedShare: clipped / pixels,
  };
}

function percentile(histogram: Float64Array, total: number, share: number): number {
  let seen = 0;
  for (let v = 0; v < histogram.length; v++) {
    seen += histogram[v]!;
    if (seen >= share * total) return v;
  }
  return histogram.length - 1;
}

/** Noise σ in 0..255 levels, per channel averaged, at two scales. */
export interface NoiseEstimate {
  /** White-noise σ read at full resolution (Gaussian noise reads true here). */
  fine: number;
  /**
   * σ read on a 2×2-binned copy, scaled back (×2) so that white noise reads the same as `fine`, in
   * its flattest tenth. Camera and JPEG noise is spatially correlated and reads higher here; so does
   * texture, which is why only dark photos, whose texture the darkness flattens, should trust it.
   */
  coarse: number;
  /** `fine` per channel, R, G, B. */
  channels: [number, number, number];
}

// Immerkær's mask (CVIU 1996): a difference of two Laplacians, blind to linear ramps; its response to
// white noise of σ has standard deviation 6σ, and E|response| = 6σ·√(2/π).
const MASK_NORM = Math.sqrt(Math.PI / 2) / 6;
// |gx| + |gy| of a Sobel pair on 8-bit data stays below 2 · 4 · 255.
const GRADIENT_BINS = 2048;
// Enough pixels for a σ good to about 2 %, and a bound on the time big photos take: reading a
// whole 1 MP photo took about 95 ms on 2 cores, a quarter of a 1 MP enhance job. Photos up to this
// size (the test photos) are read whole; larger ones in a 4 × 4 grid of 128² regions (262,144 pixels).
const MAX_SAMPLE_PIXELS = 300_000;
const REGION_SIDE = 128;
// The coarse reading keeps only the flattest tenth: texture, which also reads there, is sparse in
// the flattest regions while noise is everywhere (dark recipe 0.5–0.7 there against 0.9–1.3 at the
// median; the night bus 1.7 at both).
const COARSE_SHARE = 0.1;
// Fewer usable pixels than this (flat, clipped or tiny images) read as no noise.
const MIN_SAMPLES = 64;

/**
 * Estimates the noise σ of `image` (Immerkær's fast noise variance estimation, CVIU 1996) per
 * channel: the mean absolute response to his mask, taken only where the Sobel gradient is at or
 * below its median, so edges and texture do not count as noise (after Tai & Yang, 2008; the two
 * filters are odd and even, so on Gaussian noise the selection does not bias the reading). A 3×3
 * neighbourhood with a sample at 0 or 255 is skipped: clipping hides noise and would read low.
 * Photos over 0.3 MP are sampled in spread-out 128² regions.
 */
export function estimateNoise(image: RgbImage): NoiseEstimate {
  const fine = [newAccumulator(), newAccumulator(), newAccumulator()] as const;
  const coarse = [newAccumulator(), newAccumulator(), newAccumulator()] as const;
  for (const region of sampleRegions(image.width, image.height)) {
    for (let c = 0; c < 3; c++) {
      const plane = channelPlane(image, region, c);
      accumulate(plane, fine[c]!);
      accumulate(binned(plane), coarse[c]!);
    }
  }
  const channels = fine.map((acc) => sigmaOf(acc, 0.5)) as [number, number, number];
  return { fine: mean(channels), coarse: 2 * mean(coarse.map((acc) => sigmaOf(acc, COARSE_SHARE))), channels };
}

interface Plane {
  values: Float32Array;
  /** 1 where the sample is clipped (0 or 255), or binned from one that was. */
  clipped: Uint8Array;
  width: number;
  height: number;
}

interface Accumulator {
  count: Float64Array;
  absSum: Float64Array;
}

function newAccumulator(): Accumulator {
  return { count: new Float64Array(GRADIENT_BINS), absSum: new Float64Array(GRADIENT_BINS) };
}

interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The whole image when small enough, else a grid of 128² regions spread evenly over it. */
function sampleRegions(width: number, height: number): Region[] {
  if (width * height <= MAX_SAMPLE_PIXELS) return [{ x: 0, y: 0, width, height }];
  const side = Math.min(REGION_SIDE, width, height);
  const perAxis = Math.max(1, Math.floor(Math.sqrt(MAX_SAMPLE_PIXELS / (side * side))));
  const cols = Math.min(perAxis, Math.floor(width / side));
  const rows = Math.min(perAxis, Math.floor(height / side));
  const regions: Region[] = [];
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      const x = cols === 1 ? 0 : Math.round((q * (width - side)) / (cols - 1));
      const y = rows === 1 ? 0 : Math.round((r * (height - side)) / (rows - 1));
      regions.push({ x, y, width: side, height: side });
    }
  }
  return regions;
}

function channelPlane(image: RgbImage, region: Region, c: number): Plane {
  const values = new Float32Array(region.width * region.height);
  const clipped = new Uint8Array(values.length);
  for (let y = 0; y < region.height; y++) {
    let s = ((region.y + y) * image.width + region.x) * 3 + c;
    for (let x = 0; x < region.width; x++, s += 3) {
      const v = image.rgb[s]!;
      values[y * region.width + x] = v;
      clipped[y * region.width + x] = v === 0 || v === 255 ? 1 : 0;
    }
  }
  return { values, clipped, width: region.width, height: region.height };
}

/** 2×2 box average; a binned sample is clipped when any of its four was. */
function binned(plane: Plane): Plane {
  const width = plane.width >> 1;
  const height = plane.height >> 1;
  const values = new Float32Array(width * height);
  const clipped = new Uint8Array(values.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = 2 * y * plane.width + 2 * x;
      const b = a + plane.width;
      values[y * width + x] = (plane.values[a]! + plane.values[a + 1]! + plane.values[b]! + plane.values[b + 1]!) / 4;
      clipped[y * width + x] = plane.clipped[a]! | plane.clipped[a + 1]! | plane.clipped[b]! | plane.clipped[b + 1]!;
    }
  }
  return { values, clipped, width, height };
}

/** Adds each interior pixel with no clipped sample in its 3×3 neighbourhood to the bin of its gradient magnitude. */
function accumulate(plane: Plane, acc: Accumulator): void {
  const { values: v, width: w, height: h } = plane;
  const near = clippedNeighbourhoods(plane);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1, i = y * w + 1; x < w - 1; x++, i++) {
      if (near[i]) continue;
      const nw = v[i - w - 1]!;
      const n = v[i - w]!;
      const ne = v[i - w + 1]!;
      const west = v[i - 1]!;
      const east = v[i + 1]!;
      const sw = v[i + w - 1]!;
      const s = v[i + w]!;
      const se = v[i + w + 1]!;
      const response = nw + ne + sw + se - 2 * (n + west + east + s) + 4 * v[i]!;
      const gx = ne + 2 * east + se - nw - 2 * west - sw;
      const gy = sw + 2 * s + se - nw - 2 * n - ne;
      const bin = Math.min(GRADIENT_BINS - 1, Math.floor(Math.abs(gx) + Math.abs(gy)));
      acc.count[bin]! += 1;
      acc.absSum[bin]! += Math.abs(response);
    }
  }
}

/** 1 where any sample of the pixel's 3×3 neighbourhood is clipped: the OR over rows, then columns. */
function clippedNeighbourhoods(plane: Plane): Uint8Array {
  const { clipped, width: w, height: h } = plane;
  const rows = new Uint8Array(clipped.length);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 1; x < w - 1; x++) rows[row + x] = clipped[row + x - 1]! | clipped[row + x]! | clipped[row + x + 1]!;
  }
  const near = new Uint8Array(clipped.length);
  for (let i = w; i < clipped.length - w; i++) near[i] = rows[i - w]! | rows[i]! | rows[i + w]!;
  return near;
}

/** σ from the `share` of pixels with the lowest gradient; 0 when too few pixels were usable. */
function sigmaOf(acc: Accumulator, share: number): number {
  let total = 0;
  for (const n of acc.count) total += n;
  if (total < MIN_SAMPLES) return 0;
  let count = 0;
  let absSum = 0;
  for (let bin = 0; bin < GRADIENT_BINS && count < total * share; bin++) {
    count += acc.count[bin]!;
    absSum += acc.absSum[bin]!;
  }
  return (MASK_NORM * absSum) / count;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
