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

/**
 * A trimap at some grid's resolution, one byte per pixel: 0 and 255 are the final alpha of pixels
 * far outside / inside the subject's outline, {@link SOFT} marks the band where the filter draws it.
 */
export interface Trimap {
  codes: Uint8Array;
  width: number;
  height: number;
}

/** The trimap code of a pixel in the soft band. */
export const SOFT = 1;

/** How {@link applyCoefficients} quantises: alpha levels and a trimap to respect (both optional). */
export interface ApplyOptions {
  /** Values below/above these become 0/1 and the range between is stretched. */
  levels?: readonly [number, number] | undefined;
  /** Outside its soft band the result is the trimap's 0/255 (nearest trimap pixel), not the filter's. */
  trimap?: Trimap | undefined;
}

/**
 * Applies the coefficients to a guide of any size (the fast guided filter: coefficients computed at
 * a lower resolution are smooth, so bilinear upsampling loses little while the higher-resolution
 * guide keeps its edges). The result is clamped to [0,1] and written as 8-bit. `levels` are folded
 * into the coefficients row by row, and pixels the `trimap` decides cost a table look-up only.
 */
export function applyCoefficients(
  coefficients: GuidedCoefficients,
  guide: RgbGuide,
  options: ApplyOptions = {},
): Buffer {
  const { width, height } = guide;
  const [lo, hi] = options.levels ?? [0, 1];
  // q' = (q − lo) / (hi − lo) = k·q + m: the same affine map on every coefficient row.
  const k = 1 / (hi - lo);
  const m = -lo * k;
  const xs = samplePositions(width, coefficients.width);
  const { trimap } = options;
  const tx = trimap ? nearestIndices(width, trimap.width) : null;
  // The coefficients interpolated to the current output row, interleaved a_r, a_g, a_b, b, and
  // scaled so that the guide's bytes go in directly.
  const row = new Float64Array(coefficients.width * 4);
  const out = Buffer.allocUnsafe(width * height);
  const { rgb } = guide;
  const { lo: xlo, hi: xhi, weight: xw } = xs;
  const codes = trimap?.codes;
  for (let y = 0; y < height; y++) {
    const [y0, y1, wy] = samplePosition(y, height, coefficients.height);
    lerpRows(coefficients.planes, y0 * coefficients.width, y1 * coefficients.width, wy, k / 255, m, row);
    const trow = trimap ? nearestIndex(y, height, trimap.height) * trimap.width : 0;
    for (let x = 0, s = y * width * 3, i = y * width; x < width; x++, s += 3, i++) {
      if (codes && tx) {
        const code = codes[trow + tx[x]!]!;
        if (code !== SOFT) {
          out[i] = code;
          continue;
        }
      }
      const x0 = xlo[x]! * 4;
      const x1 = xhi[x]! * 4;
      const wx = xw[x]!;
      const ar = row[x0]! + wx * (row[x1]! - row[x0]!);
      const ag = row[x0 + 1]! + wx * (row[x1 + 1]! - row[x0 + 1]!);
      const ab = row[x0 + 2]! + wx * (row[x1 + 2]! - row[x0 + 2]!);
      const b = row[x0 + 3]! + wx * (row[x1 + 3]! - row[x0 + 3]!);
      const q = ar * rgb[s]! + ag * rgb[s + 1]! + ab * rgb[s + 2]! + b;
      out[i] = q <= 0 ? 0 : q >= 1 ? 255 : Math.round(q * 255);
    }
  }
  return out;
}

/** Coefficients that ignore the guide (a = 0, b = `plane`): applying them is a bilinear resize. */
export function flatCoefficients(plane: FloatPlane): GuidedCoefficients {
  const n = plane.data.length;
  const zeros = new Float32Array(n);
  return { planes: [zeros, zeros, zeros, plane.data], width: plane.width, height: plane.height };
}

/** Per output index: the two neighbouring source indices and the second one's weight (bilinear). */
interface Samples {
  lo: Int32Array;
  hi: Int32Array;
  weight: Float32Array;
}

/** Two coefficient rows interpolated by `wy`, the a's times `ka`, b mapped to k·b + m (k = 255·ka). */
function lerpRows(
  planes: GuidedCoefficients["planes"],
  r0: number,
  r1: number,
  wy: number,
  ka: number,
  m: number,
  row: Float64Array,
): void {
  const k = ka * 255;
  for (let c = 0; c < 4; c++) {
    const d = planes[c]!;
    const [scale, offset] = c < 3 ? [ka, 0] : [k, m];
    for (let x = 0, o = c; o < row.length; x++, o += 4) {
      row[o] = (d[r0 + x]! + wy * (d[r1 + x]! - d[r0 + x]!)) * scale + offset;
    }
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

/** The source pixel (nearest, pixel-centre aligned) of output index i. */
function nearestIndex(i: number, outSize: number, inSize: number): number {
  return Math.min(inSize - 1, Math.floor(((i + 0.5) * inSize) / outSize));
}

function nearestIndices(outSize: number, inSize: number): Int32Array {
  const out = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) out[i] = nearestIndex(i, outSize, inSize);
  return out;
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
  const src = plane.data;
  for (let y = 0; y < height; y++) {
    const [y0, y1, wy] = samplePosition(y, height, plane.height);
    const r0 = y0 * plane.width;
    const r1 = y1 * plane.width;
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const lo = xs.lo[x]!;
      const hi = xs.hi[x]!;
      const wx = xs.weight[x]!;
      const top = src[r0 + lo]! + wx * (src[r0 + hi]! - src[r0 + lo]!);
      const bottom = src[r1 + lo]! + wx * (src[r1 + hi]! - src[r1 + lo]!);
      out[i] = top + wy * (bottom - top);
    }
  }
  return { data: out, width, height };
}

// Foreground planes, interleaved per pixel: background R, G, B and weight, then the same for the
// foreground (box means of the clear pixels' colours and of their indicator).
const FG_CHANNELS = 8;

/** Where the clear background and the clear foreground are, and their mean colours, near each pixel. */
export interface ForegroundPlanes {
  /** {@link FG_CHANNELS} values per pixel, row-major. */
  data: Float32Array;
  width: number;
  height: number;
}

/**
 * The box means, within `radius` pixels of `mask`'s grid, of the colours of `guide` (the image at
 * the mask's size) where the mask is clear background (≤ 0.05) and clear foreground (≥ 0.95), with
 * the share of such pixels: one streamed pass for all eight planes.
 */
export function foregroundPlanes(guide: RgbGuide, mask: FloatPlane, radius: number): ForegroundPlanes {
  const { width, height } = mask;
  const m = mask.data;
  const { rgb } = guide;
  const data = new Float32Array(width * height * FG_CHANNELS);
  const accumulate: RowAccumulator = (y, sign, cols) => {
    for (let x = 0, p = y * width, s = p * 3; x < width; x++, p++, s += 3) {
      const v = m[p]!;
      const o = v <= 0.05 ? x * FG_CHANNELS : v >= 0.95 ? x * FG_CHANNELS + 4 : -1;
      if (o < 0) continue;
      cols[o] = cols[o]! + sign * rgb[s]!;
      cols[o + 1] = cols[o + 1]! + sign * rgb[s + 1]!;
      cols[o + 2] = cols[o + 2]! + sign * rgb[s + 2]!;
      cols[o + 3] = cols[o + 3]! + sign;
    }
  };
  slidingBoxMeans(mask, radius, FG_CHANNELS, accumulate, (y, { prefix, lo, hi, scale }) => {
    for (let x = 0, d = y * width * FG_CHANNELS; x < width; x++) {
      const l = lo[x]!;
      const h = hi[x]!;
      const f = scale[x]!;
      for (let c = 0; c < FG_CHANNELS; c++, d++) data[d] = (prefix[h + c]! - prefix[l + c]!) * f;
    }
  });
  return { data, width, height };
}

/**
 * The subject's own colours along a soft edge (foreground estimation for a cutout), one pass over
 * `image` (any size) that does work only where `alpha` (its size) is strictly between 0 and 255. An
 * edge pixel is I = αF + (1 − α)B; B is the mean colour of the clear background nearby (`planes`,
 * bilinear) and F = (I − (1 − α)B) / α. Faint pixels are mostly background, so their solved F is
 * noise: F leans, by (1 − α), on the mean colour of the clear foreground nearby, which makes it
 * I + (1 − α)(F̄ − B). Pixels with no clear background nearby keep their colour.
 */
export function decontaminate(image: RgbGuide, alpha: Uint8Array, planes: ForegroundPlanes): Buffer {
  const { width, height } = image;
  const src = image.rgb;
  const copy = Buffer.from(src);
  const xs = samplePositions(width, planes.width);
  const p = planes.data;
  const stride = planes.width * FG_CHANNELS;
  const at = new Float64Array(FG_CHANNELS);
  for (let y = 0; y < height; y++) {
    const [y0, y1, wy] = samplePosition(y, height, planes.height);
    const r0 = y0 * stride;
    const r1 = y1 * stride;
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const a255 = alpha[i]!;
      if (a255 === 0 || a255 === 255) continue;
      const lo = xs.lo[x]! * FG_CHANNELS;
      const hi = xs.hi[x]! * FG_CHANNELS;
      const wx = xs.weight[x]!;
      for (let k = 0; k < FG_CHANNELS; k++) {
        const top = p[r0 + lo + k]! + wx * (p[r0 + hi + k]! - p[r0 + lo + k]!);
        at[k] = top + wy * (p[r1 + lo + k]! + wx * (p[r1 + hi + k]! - p[r1 + lo + k]!) - top);
      }
      const wb = at[3]!;
      if (wb < 1e-3) continue;
      const wf = at[7]!;
      const a = a255 / 255;
      const s = i * 3;
      for (let c = 0; c < 3; c++) {
        const background = at[c]! / wb;
        const f =
          wf < 1e-3 ? (src[s + c]! - (1 - a) * background) / a : src[s + c]! + (1 - a) * (at[4 + c]! / wf - background);
        copy[s + c] = f <= 0 ? 0 : f >= 255 ? 255 : Math.round(f);
      }
    }
  }
  return copy;
}

/**
 * {@link decontaminate} with the planes taken from `guide` (the image at `mask`'s size) within
 * `radius` mask pixels; `image` and `alpha` are full size.
 */
export function estimateForeground(
  image: RgbGuide,
  alpha: Uint8Array,
  guide: RgbGuide,
  mask: FloatPlane,
  radius: number,
): Buffer {
  return decontaminate(image, alpha, foregroundPlanes(guide, mask, radius));
}

/**
 * The trimap of `mask`: 255 / 0 where a pixel lies more than `band` pixels inside / outside the
 * outline of `mask` ≥ 0.5 (chessboard distance), {@link SOFT} within the band.
 */
export function trimapOf(mask: FloatPlane, band: number): Trimap {
  const { width, height } = mask;
  const n = width * height;
  const inside = new Uint8Array(n);
  for (let i = 0; i < n; i++) inside[i] = mask.data[i]! >= 0.5 ? 1 : 0;
  const d = outlineDistance(inside, width, height);
  const codes = new Uint8Array(n);
  for (let i = 0; i < n; i++) codes[i] = d[i]! > band ? (inside[i] ? 255 : 0) : SOFT;
  return { codes, width, height };
}

/**
 * A trimap for the filtered alpha: sets the full-size `alpha` to exactly 255 / 0 where the mask's
 * pixel (nearest) lies more than `band` mask pixels inside / outside the outline of `mask` ≥ 0.5,
 * leaving the soft edge to the filter only within the band.
 */
export function applyTrimap(alpha: Uint8Array, image: Size, mask: FloatPlane, band: number): void {
  const { codes, width } = trimapOf(mask, band);
  const xs = nearestIndices(image.width, width);
  for (let y = 0; y < image.height; y++) {
    const row = nearestIndex(y, image.height, mask.height) * width;
    for (let x = 0, i = y * image.width; x < image.width; x++, i++) {
      const code = codes[row + xs[x]!]!;
      if (code !== SOFT) alpha[i] = code;
    }
  }
}

/**
 * The chessboard distance from each pixel to the nearest pixel of the other class (1 next to the
 * outline; 65535 when there is no other class): two raster passes.
 */
function outlineDistance(inside: Uint8Array, width: number, height: number): Uint16Array {
  const d = new Uint16Array(inside.length).fill(65535);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const v = inside[i];
      if (
        (x > 0 && inside[i - 1] !== v) ||
        (x < width - 1 && inside[i + 1] !== v) ||
        (y > 0 && inside[i - width] !== v) ||
        (y < height - 1 && inside[i + width] !== v)
      )
        d[i] = 1;
    }
  }
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      let best = d[i]!;
      if (x > 0 && d[i - 1]! + 1 < best) best = d[i - 1]! + 1;
      if (y > 0) {
        const up = i - width;
        if (d[up]! + 1 < best) best = d[up]! + 1;
        if (x > 0 && d[up - 1]! + 1 < best) best = d[up - 1]! + 1;
        if (x < width - 1 && d[up + 1]! + 1 < best) best = d[up + 1]! + 1;
      }
      d[i] = best;
    }
  }
  for (let y = height - 1, i = inside.length - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--, i--) {
      let best = d[i]!;
      if (x < width - 1 && d[i + 1]! + 1 < best) best = d[i + 1]! + 1;
      if (y < height - 1) {
        const down = i + width;
        if (d[down]! + 1 < best) best = d[down]! + 1;
        if (x < width - 1 && d[down + 1]! + 1 < best) best = d[down + 1]! + 1;
        if (x > 0 && d[down - 1]! + 1 < best) best = d[down - 1]! + 1;
      }
      d[i] = best;
    }
  }
  return d;
}
