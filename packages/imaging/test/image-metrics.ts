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

/** Mean absolute difference per sample, 0..255, of two images of the same size and channels. */
export function meanAbsDiff(a: Pixels, b: Pixels): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
}

/** Mean of each of the first three channels, 0..255. */
export function channelMeans(image: Pixels): [number, number, number] {
  const { data, channels } = image;
  const sums = [0, 0, 0];
  for (let i = 0; i < data.length; i += channels) {
    sums[0]! += data[i]!;
    sums[1]! += data[i + 1]!;
    sums[2]! += data[i + 2]!;
  }
  const n = image.width * image.height;
  return [sums[0]! / n, sums[1]! / n, sums[2]! / n];
}

/** Channel means over the mean luma: the colour balance, independent of brightness. */
export function colourBalance(image: Pixels): [number, number, number] {
  const y = meanLuma(image);
  const [r, g, b] = channelMeans(image);
  return [r / y, g / y, b / y];
}

/** The synthetic low-light recipe of shared/images/lowlight-synthetic-coffee: `255·(v/255·0.35)^1.6`. */
export function darkened(image: Pixels): Pixels {
  const data = Buffer.alloc(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(255 * Math.pow((image.data[i]! / 255) * 0.35, 1.6));
  return { ...image, data };
}

/** `image` plus Gaussian noise of `sigma` levels per sample (seeded, so repeatable), clamped to 0..255. */
export function withGaussianNoise(image: Pixels, sigma: number, seed = 1): Pixels {
  const random = mulberry32(seed);
  const data = Buffer.alloc(image.data.length);
  for (let i = 0; i < data.length; i += 2) {
    // Box–Muller: two independent normals from two uniforms.
    const radius = Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12)));
    const angle = 2 * Math.PI * random();
    data[i] = clampByte(image.data[i]! + sigma * radius * Math.cos(angle));
    if (i + 1 < data.length) data[i + 1] = clampByte(image.data[i + 1]! + sigma * radius * Math.sin(angle));
  }
  return { ...image, data };
}

/** Encodes raw pixels as PNG. */
export async function toPng(image: Pixels): Promise<Buffer> {
  const { data, width, height, channels } = image;
  return sharp(data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } })
    .png()
    .toBuffer();
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
