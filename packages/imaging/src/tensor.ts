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
  for (let ty = 0; ty < window.height; ty++) {
    const sy = clampIndex(window.y + ty, image.height);
    const rowOut = ty * window.width;
    for (let tx = 0; tx < window.width; tx++) {
      const s = (sy * image.width + clampIndex(window.x + tx, image.width)) * 3;
      const d = rowOut + tx;
      dst[d] = lo + src[s]! * k;
      dst[plane + d] = lo + src[s + 1]! * k;
      dst[2 * plane + d] = lo + src[s + 2]! * k;
    }
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
  for (let ry = 0; ry < region.height; ry++) {
    const rowIn = (region.y + ry) * tensor.width + region.x;
    let d = ((at.y + ry) * image.width + at.x) * 3;
    for (let rx = 0; rx < region.width; rx++, d += 3) {
      const s = rowIn + rx;
      dst[d] = toByte(src[s]!, lo, hi, k);
      dst[d + 1] = toByte(src[plane + s]!, lo, hi, k);
      dst[d + 2] = toByte(src[2 * plane + s]!, lo, hi, k);
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

function toByte(value: number, lo: number, hi: number, k: number): number {
  const v = value < lo ? lo : value > hi ? hi : value;
  // NaN fails both comparisons above; map it to 0 rather than let it through.
  return Number.isNaN(v) ? 0 : Math.round((v - lo) * k);
}

/** Values in 0..1 as 8-bit levels, clamped (NaN → 0) and rounded. */
export function unitToBytes(values: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(values.length);
  for (let i = 0; i < out.length; i++) {
    const v = values[i]!;
    out[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
  }
  return out;
}
