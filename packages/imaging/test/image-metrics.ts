import sharp from "sharp";

/** Raw 8-bit pixels of an encoded image, alpha removed. */
export interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/** Decodes any image to raw RGB (alpha dropped). */
export async function rgbPixels(image: Buffer | string): Promise<Pixels> {
  const { data, info } = await sharp(image)
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Rec. 601 luma of RGB pixels, one value per pixel. */
export function luma(image: Pixels): Float32Array {
  const { data, channels } = image;
  const out = new Float32Array(image.width * image.height);
  for (let p = 0, i = 0; p < out.length; p++, i += channels) {
    out[p] = 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
  }
  return out;
}

/** Sobel gradient magnitude of the luma at each interior pixel. */
export function gradients(image: Pixels): Float32Array {
  const y = luma(image);
  const { width: w, height: h } = image;
  const out = new Float32Array((w - 2) * (h - 2));
  let k = 0;
  for (let r = 1; r < h - 1; r++) {
    for (let c = 1; c < w - 1; c++) {
      const at = (dr: number, dc: number): number => y[(r + dr) * w + c + dc]!;
      const gx = at(-1, 1) + 2 * at(0, 1) + at(1, 1) - at(-1, -1) - 2 * at(0, -1) - at(1, -1);
      const gy = at(1, -1) + 2 * at(1, 0) + at(1, 1) - at(-1, -1) - 2 * at(-1, 0) - at(-1, 1);
      out[k++] = Math.hypot(gx, gy);
    }
  }
  return out;
}

/** Mean Sobel gradient magnitude of the luma (interior pixels): higher is sharper. */
export function meanGradient(image: Pixels): number {
  const g = gradients(image);
  return g.reduce((a, b) => a + b, 0) / g.length;
}

/**
 * Mean of the strongest `share` of gradient magnitudes: how steep the edges are, unaffected by a
 * model that flattens texture in smooth areas (which lowers the plain mean).
 */
export function edgeGradient(image: Pixels, share = 0.1): number {
  const g = gradients(image).sort();
  const top = g.subarray(Math.floor(g.length * (1 - share)));
  return top.reduce((a, b) => a + b, 0) / top.length;
}

/** PSNR in dB of `test` against `reference` (same size and channels), over all samples. */
export function psnr(test: Pixels, reference: Pixels): number {
  let sq = 0;
  for (let i = 0; i < reference.data.length; i++) {
    const d = test.data[i]! - reference.data[i]!;
    sq += d * d;
  }
  const mse = sq / reference.data.length;
  return 10 * Math.log10((255 * 255) / mse);
}

/** Mean luma, 0..255. */
export function meanLuma(image: Pixels): number {
  return luma(image).reduce((a, b) => a + b, 0) / (image.width * image.height);
}

/** Share of pixels with at least one channel at 255 (blown out). */
export function clippedFraction(image: Pixels): number {
  const { data, channels } = image;
  let clipped = 0;
  for (let i = 0; i < data.length; i += channels) {
    if (data[i] === 255 || data[i + 1] === 255 || data[i + 2] === 255) clipped++;
  }
  return clipped / (image.width * image.height);
}

/** Number of distinct colours after quantising each channel to `bits` bits (ignores sensor noise). */
export function distinctColours(image: Pixels, bits = 5): number {
  const { data, channels } = image;
  const shift = 8 - bits;
  const seen = new Set<number>();
  for (let i = 0; i < data.length; i += channels) {
    seen.add(((data[i]! >> shift) << (2 * bits)) | ((data[i + 1]! >> shift) << bits) | (data[i + 2]! >> shift));
  }
  return seen.size;
}
