/** An 8-bit interleaved RGB guide image, HWC. */
export interface RgbGuide {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** The box-averaged linear model q = a_r·R + a_g·G + a_b·B + b of a colour guided filter. */
export interface GuidedCoefficients {
  /** a_r, a_g, a_b and b, one plane each, for guide values in [0,1]. */
  planes: [Float32Array, Float32Array, Float32Array, Float32Array];
  width: number;
  height: number;
}

type Size = { width: number; height: number };

/**
 * Mean over the (2r+1)² box around each pixel, the box clipped at the borders so edges are not
 * darkened. Two separable running-sum passes: O(pixels) whatever the radius. `dst` may be `src`.
 */
export function boxMean(
  src: Float32Array,
  size: Size,
  radius: number,
  dst: Float32Array = new Float32Array(src.length),
): Float32Array {
  const { width, height } = size;
  const rows = new Float32Array(src.length);
  for (let y = 0; y < height; y++) runningMean(src, y * width, 1, width, radius, rows);
  for (let x = 0; x < width; x++) runningMean(rows, x, width, height, radius, dst);
  return dst;
}

// Means of `count` values spaced by `stride` from `start`, over windows clipped to [0, count).
function runningMean(
  src: Float32Array,
  start: number,
  stride: number,
  count: number,
  r: number,
  dst: Float32Array,
): void {
  let sum = 0;
  let lo = 0;
  let hi = -1;
  for (let i = 0; i < count; i++) {
    const wantHi = Math.min(count - 1, i + r);
    while (hi < wantHi) sum += src[start + ++hi * stride]!;
    const wantLo = Math.max(0, i - r);
    while (lo < wantLo) sum -= src[start + lo++ * stride]!;
    dst[start + i * stride] = sum / (hi - lo + 1);
  }
}

/** Box mean of the per-pixel product of two planes (or of one plane with a channel of the guide). */
function meanOfProduct(x: Float32Array, y: Float32Array, size: Size, radius: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) out[i] = x[i]! * y[i]!;
  return boxMean(out, size, radius, out);
}

function splitChannels(guide: RgbGuide): [Float32Array, Float32Array, Float32Array] {
  const n = guide.width * guide.height;
  const channels: [Float32Array, Float32Array, Float32Array] = [
    new Float32Array(n),
    new Float32Array(n),
    new Float32Array(n),
  ];
  for (let p = 0, s = 0; p < n; p++, s += 3) {
    for (let c = 0; c < 3; c++) channels[c]![p] = guide.rgb[s + c]! / 255;
  }
  return channels;
}

/**
 * Colour guided-filter coefficients (He et al., "Guided Image Filtering", eq. 14) for filtering
 * `input` (values in [0,1], the guide's size). `radius` is the box radius in pixels; `eps` is the
 * guide variance below which detail counts as flat (the input is smoothed) rather than as an edge
 * (the input follows the guide). A colour guide separates edges that have the same luminance.
 */
export function guidedCoefficients(
  guide: RgbGuide,
  input: Float32Array,
  radius: number,
  eps: number,
): GuidedCoefficients {
  const size = { width: guide.width, height: guide.height };
  const [r, g, b] = splitChannels(guide);
  const mean = [r, g, b].map((c) => boxMean(c, size, radius)) as [Float32Array, Float32Array, Float32Array];
  const meanP = boxMean(input, size, radius);
  const ip = [r, g, b].map((c) => meanOfProduct(c, input, size, radius));
  const pairs = [
    [r, r],
    [r, g],
    [r, b],
    [g, g],
    [g, b],
    [b, b],
  ] as const;
  const ii = pairs.map(([x, y]) => meanOfProduct(x, y, size, radius));
  // The channel planes are no longer needed: they receive a_r, a_g, a_b; meanP becomes b.
  for (let i = 0; i < meanP.length; i++) {
    const m0 = mean[0][i]!;
    const m1 = mean[1][i]!;
    const m2 = mean[2][i]!;
    const mp = meanP[i]!;
    const a = solve3(
      [ii[0]![i]! - m0 * m0 + eps, ii[1]![i]! - m0 * m1, ii[2]![i]! - m0 * m2],
      [ii[3]![i]! - m1 * m1 + eps, ii[4]![i]! - m1 * m2, ii[5]![i]! - m2 * m2 + eps],
      [ip[0]![i]! - m0 * mp, ip[1]![i]! - m1 * mp, ip[2]![i]! - m2 * mp],
    );
    r[i] = a[0];
    g[i] = a[1];
    b[i] = a[2];
    meanP[i] = mp - a[0] * m0 - a[1] * m1 - a[2] * m2;
  }
  const planes = [r, g, b, meanP].map((plane) => boxMean(plane, size, radius, plane));
  return { planes: planes as GuidedCoefficients["planes"], ...size };
}

/** Solves Σa = c for symmetric Σ given as its upper rows [s00,s01,s02] and [s11,s12,s22]. */
function solve3(
  [s00, s01, s02]: readonly [number, number, number],
  [s11, s12, s22]: readonly [number, number, number],
  [c0, c1, c2]: readonly [number, number, number],
): [number, number, number] {
  const k00 = s11 * s22 - s12 * s12;
  const k01 = s02 * s12 - s01 * s22;
  const k02 = s01 * s12 - s02 * s11;
  const k11 = s00 * s22 - s02 * s02;
  const k12 = s02 * s01 - s00 * s12;
  const k22 = s00 * s11 - s01 * s01;
  const det = s00 * k00 + s01 * k01 + s02 * k02;
  return [
    (k00 * c0 + k01 * c1 + k02 * c2) / det,
    (k01 * c0 + k11 * c1 + k12 * c2) / det,
    (k02 * c0 + k12 * c1 + k22 * c2) / det,
  ];
}

/**
 * Applies the coefficients to a guide of any size (the fast guided filter: coefficients computed at
 * a lower resolution are smooth, so bilinear upsampling loses little while the full-resolution
 * guide keeps its edges). The result is clamped to [0,1] and written as 8-bit.
 */
export function applyCoefficients(coefficients: GuidedCoefficients, guide: RgbGuide): Buffer {
  const { width, height, rgb } = guide;
  const xs = samplePositions(width, coefficients.width);
  const coeff = new Float32Array(4);
  const out = Buffer.allocUnsafe(width * height);
  for (let y = 0; y < height; y++) {
    const [y0, y1, wy] = samplePosition(y, height, coefficients.height);
    const r0 = y0 * coefficients.width;
    const r1 = y1 * coefficients.width;
    for (let x = 0, s = y * width * 3; x < width; x++, s += 3) {
      for (let c = 0; c < 4; c++) coeff[c] = lerp2(coefficients.planes[c]!, r0, r1, xs, x, wy);
      const q = (coeff[0]! * rgb[s]! + coeff[1]! * rgb[s + 1]! + coeff[2]! * rgb[s + 2]!) / 255 + coeff[3]!;
      out[y * width + x] = q <= 0 ? 0 : q >= 1 ? 255 : Math.round(q * 255);
    }
  }
  return out;
}

interface Samples {
  lo: Int32Array;
  hi: Int32Array;
  weight: Float32Array;
}

function lerp2(d: Float32Array, r0: number, r1: number, xs: Samples, x: number, wy: number): number {
  const x0 = xs.lo[x]!;
  const x1 = xs.hi[x]!;
  const wx = xs.weight[x]!;
  const top = d[r0 + x0]! + wx * (d[r0 + x1]! - d[r0 + x0]!);
  const bottom = d[r1 + x0]! + wx * (d[r1 + x1]! - d[r1 + x0]!);
  return top + wy * (bottom - top);
}

// Pixel-centre aligned source position of output index i: two neighbours and the second's weight.
function samplePosition(i: number, outSize: number, inSize: number): [number, number, number] {
  const s = Math.min(Math.max(((i + 0.5) * inSize) / outSize - 0.5, 0), inSize - 1);
  const lo = Math.floor(s);
  return [lo, Math.min(lo + 1, inSize - 1), s - lo];
}

function samplePositions(outSize: number, inSize: number): Samples {
  const samples = { lo: new Int32Array(outSize), hi: new Int32Array(outSize), weight: new Float32Array(outSize) };
  for (let i = 0; i < outSize; i++) {
    [samples.lo[i], samples.hi[i], samples.weight[i]] = samplePosition(i, outSize, inSize);
  }
  return samples;
}
