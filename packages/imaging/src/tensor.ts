/** The value range a model expects for 0 and 255, e.g. [0, 1] or [0, 255]. */
export type ValueRange = readonly [number, number];

/** A rectangle in pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Copies the `window` of an HWC 3-channel image (uint8 0..255, or float 0..`sourceMax`) into `dst`
 * as NCHW float32 (N = 1) mapped to `range`. Pixels of the window outside the image repeat the nearest edge pixel, which is how tiles
 * are padded at the borders and up to a model's size multiple. `dst` must hold 3·w·h values; it is
 * written in place so one buffer serves every tile.
 */
export function hwcToNchw(
  src: Uint8Array | Float32Array,
  image: { width: number; height: number },
  window: Rect,
  dst: Float32Array,
  range: ValueRange,
  sourceMax = 255,
): void {
  const plane = window.width * window.height;
  if (dst.length < plane * 3)
    throw new RangeError(`Expected a tensor buffer of ${plane * 3} values but received ${dst.length}`);
  const [lo, hi] = range;
  const k = (hi - lo) / sourceMax;
  // 8-bit sources map through a 256-entry table; columns inside the image need no edge clamping.
  const lut = src instanceof Float32Array ? null : Float32Array.from({ length: 256 }, (_, v) => lo + v * k);
  const inFrom = Math.min(Math.max(-window.x, 0), window.width);
  const inTo = Math.max(Math.min(image.width - window.x, window.width), inFrom);
  const r = dst.subarray(0, plane);
  const g = dst.subarray(plane, 2 * plane);
  const b = dst.subarray(2 * plane, 3 * plane);
  for (let ty = 0; ty < window.height; ty++) {
    const rowIn = clampIndex(window.y + ty, image.height) * image.width;
    const rowOut = ty * window.width;
    const copy = (tx: number, sx: number): void => {
      const s = (rowIn + sx) * 3;
      const d = rowOut + tx;
      if (lut) {
        r[d] = lut[src[s]!]!;
        g[d] = lut[src[s + 1]!]!;
        b[d] = lut[src[s + 2]!]!;
      } else {
        r[d] = lo + src[s]! * k;
        g[d] = lo + src[s + 1]! * k;
        b[d] = lo + src[s + 2]! * k;
      }
    };
    for (let tx = 0; tx < inFrom; tx++) copy(tx, 0);
    if (lut) {
      for (let tx = inFrom, s = (rowIn + window.x + inFrom) * 3, d = rowOut + inFrom; tx < inTo; tx++, s += 3, d++) {
        r[d] = lut[src[s]!]!;
        g[d] = lut[src[s + 1]!]!;
        b[d] = lut[src[s + 2]!]!;
      }
    } else {
      for (let tx = inFrom; tx < inTo; tx++) copy(tx, window.x + tx);
    }
    for (let tx = inTo; tx < window.width; tx++) copy(tx, image.width - 1);
  }
}

/**
 * Writes `region` of an NCHW float32 tensor (N = 1, 3 channels, `tensor.width`×`tensor.height`) into
 * an HWC uint8 image at (`at.x`, `at.y`), mapping `range` back to 0..255. Values are clamped to the
 * range first: models such as Real-ESRGAN overshoot, and uint8 stores would wrap, not saturate.
 */
export function nchwToHwc(
  src: Float32Array,
  tensor: { width: number; height: number },
  region: Rect,
  dst: Uint8Array,
  image: { width: number },
  at: { x: number; y: number },
  range: ValueRange,
): void {
  const plane = tensor.width * tensor.height;
  const [lo, hi] = range;
  const k = 255 / (hi - lo);
  // A clamped view saturates, rounds and maps NaN to 0 on store: models such as Real-ESRGAN
  // overshoot their range, and plain uint8 stores would wrap.
  const out = new Uint8ClampedArray(dst.buffer, dst.byteOffset, dst.length);
  for (let ry = 0; ry < region.height; ry++) {
    const rowIn = (region.y + ry) * tensor.width + region.x;
    let d = ((at.y + ry) * image.width + at.x) * 3;
    for (let s = rowIn, end = rowIn + region.width; s < end; s++, d += 3) {
      out[d] = (src[s]! - lo) * k;
      out[d + 1] = (src[plane + s]! - lo) * k;
      out[d + 2] = (src[2 * plane + s]! - lo) * k;
    }
  }
}

/** Whole-image HWC uint8 → NCHW float32, into `dst` when given (else a new array). */
export function imageToTensor(
  rgb: Uint8Array,
  width: number,
  height: number,
  range: ValueRange,
  dst: Float32Array = new Float32Array(width * height * 3),
): Float32Array {
  hwcToNchw(rgb, { width, height }, { x: 0, y: 0, width, height }, dst, range);
  return dst;
}

/** Whole-image NCHW float32 → HWC uint8, into `dst` when given (else a new Buffer). */
export function tensorToImage(
  data: Float32Array,
  width: number,
  height: number,
  range: ValueRange,
  dst: Uint8Array = Buffer.alloc(width * height * 3),
): Uint8Array {
  nchwToHwc(data, { width, height }, { x: 0, y: 0, width, height }, dst, { width }, { x: 0, y: 0 }, range);
  return dst;
}

function clampIndex(i: number, size: number): number {
  return i < 0 ? 0 : i >= size ? size - 1 : i;
}

/** Values in 0..1 as 8-bit levels, clamped (NaN → 0) and rounded. */
export function unitToBytes(values: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(values.length);
  const clamped = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < out.length; i++) clamped[i] = values[i]! * 255;
  return out;
}
