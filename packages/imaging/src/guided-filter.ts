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

/** Adds `sign` × the values of row `y` into `cols`, interleaved (`cols[x * channels + k]`). */
type RowAccumulator = (y: number, sign: number, cols: Float64Array) => void;

/**
 * The box means of one row, interleaved like the accumulator's values: channel k at column x is
 * `(prefix[hi[x] + k] - prefix[lo[x] + k]) * scale[x]`.
 */
interface RowBoxes {
  prefix: Float64Array;
  lo: Int32Array;
  hi: Int32Array;
  scale: Float64Array;
}

/**
 * Mean over the (2r+1)² box around each pixel, the box clipped at the borders so edges are not
 * darkened. O(pixels) whatever the radius. `dst` may be `src`.
 */
export function boxMean(
  src: Float32Array,
  size: Size,
  radius: number,
  dst: Float32Array = new Float32Array(src.length),
): Float32Array {
  const { width } = size;
  // Rows are read again (subtracted) after their output row is written, so in place needs a copy.
  const from = dst === src ? src.slice() : src;
  const accumulate: RowAccumulator = (y, sign, cols) => {
    for (let x = 0, i = y * width; x < width; x++, i++) cols[x] = cols[x]! + sign * from[i]!;
  };
  slidingBoxMeans(size, radius, 1, accumulate, (y, { prefix, lo, hi, scale }) => {
    for (let x = 0, i = y * width; x < width; x++, i++) dst[i] = (prefix[hi[x]!]! - prefix[lo[x]!]!) * scale[x]!;
  });
  return dst;
}

/**
 * Box means of `channels` interleaved planes that are produced and consumed a row at a time, top
 * to bottom: per-column running sums over the rows in the box, then a prefix sum along the row.
 * Only a few rows of memory, and every access is sequential (a column-wise pass thrashes the cache).
 */
function slidingBoxMeans(
  size: Size,
  radius: number,
  channels: number,
  accumulate: RowAccumulator,
  consume: (y: number, boxes: RowBoxes) => void,
): void {
  const { width, height } = size;
  const n = width * channels;
  const cols = new Float64Array(n);
  const boxes = rowBoxes(width, radius, channels);
  const { prefix, lo, hi, scale } = boxes;
  for (let y = 0; y < Math.min(radius, height); y++) accumulate(y, 1, cols);
  for (let y = 0; y < height; y++) {
    if (y + radius < height) accumulate(y + radius, 1, cols);
    if (y > radius) accumulate(y - radius - 1, -1, cols);
    for (let i = 0; i < n; i++) prefix[i + channels] = prefix[i]! + cols[i]!;
    const rows = Math.min(height - 1, y + radius) - Math.max(0, y - radius) + 1;
    for (let x = 0; x < width; x++) scale[x] = 1 / (rows * ((hi[x]! - lo[x]!) / channels));
    consume(y, boxes);
  }
}

function rowBoxes(width: number, radius: number, channels: number): RowBoxes {
  const boxes = {
    prefix: new Float64Array((width + 1) * channels),
    lo: new Int32Array(width),
    hi: new Int32Array(width),
    scale: new Float64Array(width),
  };
  for (let x = 0; x < width; x++) {
    boxes.lo[x] = Math.max(0, x - radius) * channels;
    boxes.hi[x] = Math.min(width, x + radius + 1) * channels;
  }
  return boxes;
}

// Per pixel: r, g, b, p, then rr, rg, rb, gg, gb, bb, then rp, gp, bp (guide values in [0,1]).
const STATS = 13;

function accumulateStats(guide: RgbGuide, input: Float32Array, y: number, sign: number, cols: Float64Array): void {
  const { rgb, width } = guide;
  for (let x = 0, s = y * width * 3, o = 0; x < width; x++, s += 3, o += STATS) {
    const r = rgb[s]! / 255;
    const g = rgb[s + 1]! / 255;
    const b = rgb[s + 2]! / 255;
    const p = sign * input[y * width + x]!;
    const sr = sign * r;
    const sg = sign * g;
    const sb = sign * b;
    cols[o] = cols[o]! + sr;
    cols[o + 1] = cols[o + 1]! + sg;
    cols[o + 2] = cols[o + 2]! + sb;
    cols[o + 3] = cols[o + 3]! + p;
    cols[o + 4] = cols[o + 4]! + sr * r;
    cols[o + 5] = cols[o + 5]! + sr * g;
    cols[o + 6] = cols[o + 6]! + sr * b;
    cols[o + 7] = cols[o + 7]! + sg * g;
    cols[o + 8] = cols[o + 8]! + sg * b;
    cols[o + 9] = cols[o + 9]! + sb * b;
    cols[o + 10] = cols[o + 10]! + p * r;
    cols[o + 11] = cols[o + 11]! + p * g;
    cols[o + 12] = cols[o + 12]! + p * b;
  }
}

/** Solves (Σ + eps·I)·a = cov(I, p) per pixel of a row (Σ symmetric, by cofactors). */
function solveRow(boxes: RowBoxes, eps: number, planes: GuidedCoefficients["planes"], start: number): void {
  const [ar, ag, ab, bb] = planes;
  const { prefix: s, lo, hi, scale } = boxes;
  for (let x = 0, i = start; x < lo.length; x++, i++) {
    const l = lo[x]!;
    const h = hi[x]!;
    const f = scale[x]!;
    const mr = (s[h]! - s[l]!) * f;
    const mg = (s[h + 1]! - s[l + 1]!) * f;
    const mb = (s[h + 2]! - s[l + 2]!) * f;
    const mp = (s[h + 3]! - s[l + 3]!) * f;
    const s00 = (s[h + 4]! - s[l + 4]!) * f - mr * mr + eps;
    const s01 = (s[h + 5]! - s[l + 5]!) * f - mr * mg;
    const s02 = (s[h + 6]! - s[l + 6]!) * f - mr * mb;
    const s11 = (s[h + 7]! - s[l + 7]!) * f - mg * mg + eps;
    const s12 = (s[h + 8]! - s[l + 8]!) * f - mg * mb;
    const s22 = (s[h + 9]! - s[l + 9]!) * f - mb * mb + eps;
    const c0 = (s[h + 10]! - s[l + 10]!) * f - mr * mp;
    const c1 = (s[h + 11]! - s[l + 11]!) * f - mg * mp;
    const c2 = (s[h + 12]! - s[l + 12]!) * f - mb * mp;
    const k00 = s11 * s22 - s12 * s12;
    const k01 = s02 * s12 - s01 * s22;
    const k02 = s01 * s12 - s02 * s11;
    const k11 = s00 * s22 - s02 * s02;
    const k12 = s02 * s01 - s00 * s12;
    const k22 = s00 * s11 - s01 * s01;
    const det = s00 * k00 + s01 * k01 + s02 * k02;
    const a0 = (k00 * c0 + k01 * c1 + k02 * c2) / det;
    const a1 = (k01 * c0 + k11 * c1 + k12 * c2) / det;
    const a2 = (k02 * c0 + k12 * c1 + k22 * c2) / det;
    ar[i] = a0;
    ag[i] = a1;
    ab[i] = a2;
    bb[i] = mp - a0 * mr - a1 * mg - a2 * mb;
  }
}

/**
 * Colour guided-filter coefficients (He et al., "Guided Image Filtering", eq. 14) for filtering
 * `input` (values in [0,1], the guide's size). `radius` is the box radius in pixels; `eps` is the
 * guide variance below which detail counts as flat (the input is smoothed) rather than as an edge
 * (the input follows the guide). A colour guide separates edges that have the same luminance.
 * The thirteen box means are streamed row by row, so only 8 float planes are ever allocated.
 */
export function guidedCoefficients(
  guide: RgbGuide,
  input: Float32Array,
  radius: number,
  eps: number,
): GuidedCoefficients {
  const size = { width: guide.width, height: guide.height };
  const n = size.width * size.height;
  const newPlanes = (): GuidedCoefficients["planes"] => [
    new Float32Array(n),
    new Float32Array(n),
    new Float32Array(n),
    new Float32Array(n),
  ];
  const local = newPlanes();
  slidingBoxMeans(
    size,
    radius,
    STATS,
    (y, sign, cols) => accumulateStats(guide, input, y, sign, cols),
    (y, boxes) => solveRow(boxes, eps, local, y * size.width),
  );
  const planes = newPlanes();
  slidingBoxMeans(
    size,
    radius,
    4,
    (y, sign, cols) => accumulatePlanes(local, y * size.width, sign, cols),
    (y, boxes) => scatterPlanes(boxes, planes, y * size.width),
  );
  return { planes, ...size };
}

function accumulatePlanes(planes: readonly Float32Array[], start: number, sign: number, cols: Float64Array): void {
  const [p0, p1, p2, p3] = planes as GuidedCoefficients["planes"];
  for (let o = 0, i = start; o < cols.length; o += 4, i++) {
    cols[o] = cols[o]! + sign * p0[i]!;
    cols[o + 1] = cols[o + 1]! + sign * p1[i]!;
    cols[o + 2] = cols[o + 2]! + sign * p2[i]!;
    cols[o + 3] = cols[o + 3]! + sign * p3[i]!;
  }
}

function scatterPlanes(boxes: RowBoxes, planes: GuidedCoefficients["planes"], start: number): void {
  const [p0, p1, p2, p3] = planes;
  const { prefix: s, lo, hi, scale } = boxes;
  for (let x = 0, i = start; x < lo.length; x++, i++) {
    const l = lo[x]!;
    const h = hi[x]!;
    const f = scale[x]!;
    p0[i] = (s[h]! - s[l]!) * f;
    p1[i] = (s[h + 1]! - s[l + 1]!) * f;
    p2[i] = (s[h + 2]! - s[l + 2]!) * f;
    p3[i] = (s[h + 3]! - s[l + 3]!) * f;
  }
}

/**
 * Applies the coefficients to a guide of any size (the fast guided filter: coefficients computed at
 * a lower resolution are smooth, so bilinear upsampling loses little while the full-resolution
 * guide keeps its edges). The result is clamped to [0,1] and written as 8-bit.
 */
export function applyCoefficients(coefficients: GuidedCoefficients, guide: RgbGuide): Buffer {
  const { width, height } = guide;
  const xs = samplePositions(width, coefficients.width);
  // The coefficients interpolated to the current output row, interleaved a_r, a_g, a_b, b.
  const row = new Float64Array(coefficients.width * 4);
  const out = Buffer.allocUnsafe(width * height);
  for (let y = 0; y < height; y++) {
    const [y0, y1, wy] = samplePosition(y, height, coefficients.height);
    lerpRows(coefficients.planes, y0 * coefficients.width, y1 * coefficients.width, wy, row);
    applyRow(row, xs, guide, y, out);
  }
  return out;
}

/** Per output index: the two neighbouring source indices and the second one's weight (bilinear). */
interface Samples {
  lo: Int32Array;
  hi: Int32Array;
  weight: Float32Array;
}

function lerpRows(planes: GuidedCoefficients["planes"], r0: number, r1: number, wy: number, row: Float64Array): void {
  for (let c = 0; c < 4; c++) {
    const d = planes[c]!;
    for (let x = 0, o = c; o < row.length; x++, o += 4) row[o] = d[r0 + x]! + wy * (d[r1 + x]! - d[r0 + x]!);
  }
}

function applyRow(row: Float64Array, xs: Samples, guide: RgbGuide, y: number, out: Buffer): void {
  const { rgb, width } = guide;
  for (let x = 0, s = y * width * 3, i = y * width; x < width; x++, s += 3, i++) {
    const x0 = xs.lo[x]! * 4;
    const x1 = xs.hi[x]! * 4;
    const wx = xs.weight[x]!;
    const ar = row[x0]! + wx * (row[x1]! - row[x0]!);
    const ag = row[x0 + 1]! + wx * (row[x1 + 1]! - row[x0 + 1]!);
    const ab = row[x0 + 2]! + wx * (row[x1 + 2]! - row[x0 + 2]!);
    const b = row[x0 + 3]! + wx * (row[x1 + 3]! - row[x0 + 3]!);
    const q = (ar * rgb[s]! + ag * rgb[s + 1]! + ab * rgb[s + 2]!) / 255 + b;
    out[i] = q <= 0 ? 0 : q >= 1 ? 255 : Math.round(q * 255);
  }
}

/** Pixel-centre aligned source position of output index i: two neighbours and the second's weight. */
function samplePosition(i: number, outSize: number, inSize: number): [number, number, number] {
  const s = Math.min(Math.max(((i + 0.5) * inSize) / outSize - 0.5, 0), inSize - 1);
  const lo = Math.floor(s);
  return [lo, Math.min(lo + 1, inSize - 1), s - lo];
}

/** {@link samplePosition} for every output index. */
function samplePositions(outSize: number, inSize: number): Samples {
  const samples = { lo: new Int32Array(outSize), hi: new Int32Array(outSize), weight: new Float32Array(outSize) };
  for (let i = 0; i < outSize; i++) {
    [samples.lo[i], samples.hi[i], samples.weight[i]] = samplePosition(i, outSize, inSize);
  }
  return samples;
}

/** A single-channel float image, row-major (a soft mask, values usually in [0,1]). */
export interface FloatPlane {
  data: Float32Array;
  width: number;
  height: number;
}

/**
 * Bilinear resize of a float plane, pixel-centre aligned like the coefficient upsampling above (a
 * no-op copy at the same size). Used for soft masks, which are smooth at model resolution, so
 * bilinear loses nothing a larger kernel would keep, and cannot ring past [0,1].
 */
export function resizePlane(plane: FloatPlane, size: Size): FloatPlane {
  const { width, height } = size;
  if (plane.width === width && plane.height === height) return { data: plane.data.slice(), width, height };
  const xs = samplePositions(width, plane.width);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const [y0, y1, wy] = samplePosition(y, height, plane.height);
    const r0 = y0 * plane.width;
    const r1 = y1 * plane.width;
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const [lo, hi, wx] = [xs.lo[x]!, xs.hi[x]!, xs.weight[x]!];
      const top = plane.data[r0 + lo]! + wx * (plane.data[r0 + hi]! - plane.data[r0 + lo]!);
      const bottom = plane.data[r1 + lo]! + wx * (plane.data[r1 + hi]! - plane.data[r1 + lo]!);
      out[i] = top + wy * (bottom - top);
    }
  }
  return { data: out, width, height };
}

/**
 * The subject's own colours along a soft edge (foreground estimation for a cutout). An edge pixel
 * is I = αF + (1 − α)B; B is taken as the mean colour of the clear background (`mask` ≤ 0.05)
 * within `radius` pixels of `mask`'s grid, and F = (I − (1 − α)B) / α. Faint pixels are mostly
 * background, so their solved F is noise: F leans, by (1 − α), on the mean colour of the clear
 * foreground (`mask` ≥ 0.95) nearby. `guide` is the image at the mask's size; `image` and `alpha`
 * are full size. Pixels with α of 0 or 1, or no clear background nearby, keep their colour.
 */
export function estimateForeground(
  image: RgbGuide,
  alpha: Uint8Array,
  guide: RgbGuide,
  mask: FloatPlane,
  radius: number,
): Buffer {
  const n = mask.data.length;
  // Planes 0–3: background R, G, B and weight; 4–7: the same for the foreground.
  const planes = Array.from({ length: 8 }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const m = mask.data[i]!;
    const base = m <= 0.05 ? 0 : m >= 0.95 ? 4 : -1;
    if (base < 0) continue;
    for (let c = 0; c < 3; c++) planes[base + c]![i] = guide.rgb[i * 3 + c]!;
    planes[base + 3]![i] = 1;
  }
  for (const plane of planes) boxMean(plane, mask, radius, plane);
  const out = Buffer.from(image.rgb);
  const xs = samplePositions(image.width, mask.width);
  const at = new Float64Array(8);
  for (let y = 0; y < image.height; y++) {
    const [y0, y1, wy] = samplePosition(y, image.height, mask.height);
    const [r0, r1] = [y0 * mask.width, y1 * mask.width];
    for (let x = 0, i = y * image.width; x < image.width; x++, i++) {
      const a = alpha[i]! / 255;
      if (a === 0 || a === 1) continue;
      const [lo, hi, wx] = [xs.lo[x]!, xs.hi[x]!, xs.weight[x]!];
      for (let k = 0; k < 8; k++) {
        const p = planes[k]!;
        const top = p[r0 + lo]! + wx * (p[r0 + hi]! - p[r0 + lo]!);
        at[k] = top + wy * (p[r1 + lo]! + wx * (p[r1 + hi]! - p[r1 + lo]!) - top);
      }
      if (at[3]! < 1e-3) continue;
      for (let c = 0; c < 3; c++) {
        const solved = (image.rgb[i * 3 + c]! - (1 - a) * (at[c]! / at[3]!)) / a;
        const f = at[7]! < 1e-3 ? solved : a * solved + (1 - a) * (at[4 + c]! / at[7]!);
        out[i * 3 + c] = f <= 0 ? 0 : f >= 255 ? 255 : Math.round(f);
      }
    }
  }
  return out;
}

/**
 * A trimap for the filtered alpha: sets the full-size `alpha` to exactly 255 / 0 where the mask's
 * pixel (nearest) lies more than `band` mask pixels inside / outside the outline of `mask` ≥ 0.5,
 * leaving the soft edge to the filter only within the band.
 */
export function applyTrimap(alpha: Uint8Array, image: Size, mask: FloatPlane, band: number): void {
  const inside = Uint8Array.from(mask.data, (v) => (v >= 0.5 ? 1 : 0));
  const far = farFromOutline(inside, mask.width, mask.height, band);
  const nearest = (i: number, from: number, to: number): number =>
    Math.min(to - 1, Math.floor(((i + 0.5) * to) / from));
  const xs = Int32Array.from({ length: image.width }, (_, x) => nearest(x, image.width, mask.width));
  for (let y = 0; y < image.height; y++) {
    const row = nearest(y, image.height, mask.height) * mask.width;
    for (let x = 0, i = y * image.width; x < image.width; x++, i++) {
      const j = row + xs[x]!;
      if (far[j]) alpha[i] = inside[j] ? 255 : 0;
    }
  }
}

/** 1 where the chessboard distance to the nearest pixel of the other class exceeds `band` (two passes). */
function farFromOutline(inside: Uint8Array, width: number, height: number, band: number): Uint8Array {
  const d = new Uint16Array(inside.length).fill(65535);
  for (let i = 0; i < inside.length; i++) {
    const [x, v] = [i % width, inside[i]];
    const differs = (j: number): boolean => inside[j] !== v;
    if ((x > 0 && differs(i - 1)) || (x < width - 1 && differs(i + 1))) d[i] = 1;
    else if ((i >= width && differs(i - width)) || (i < (height - 1) * width && differs(i + width))) d[i] = 1;
  }
  const relax = (i: number, j: number): void => {
    if (d[j]! + 1 < d[i]!) d[i] = d[j]! + 1;
  };
  for (let i = 0; i < inside.length; i++) {
    const x = i % width;
    if (x > 0) relax(i, i - 1);
    if (i >= width) {
      relax(i, i - width);
      if (x > 0) relax(i, i - width - 1);
      if (x < width - 1) relax(i, i - width + 1);
    }
  }
  for (let i = inside.length - 1; i >= 0; i--) {
    const x = i % width;
    if (x < width - 1) relax(i, i + 1);
    if (i < (height - 1) * width) {
      relax(i, i + width);
      if (x < width - 1) relax(i, i + width + 1);
      if (x > 0) relax(i, i + width - 1);
    }
  }
  return Uint8Array.from(d, (v) => (v > band ? 1 : 0));
}
