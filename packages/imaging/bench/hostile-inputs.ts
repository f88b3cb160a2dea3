/** The hostile image set of the bounded-memory bench (hostile-memory.ts), made in memory at start. */
import {
  animatedGif,
  cmykJpeg,
  largeAvif,
  largeJpeg,
  manyFrames,
  pixelBomb,
  png16,
  scanBombJpeg,
  tiff16,
  uniformJpeg,
  type BombFormat,
} from "@imagen/testing/images";

/** One upload of the set, the job it asks for, and how it must end. */
export interface HostileCase {
  name: string;
  bytes: Buffer;
  op: string;
  options: Record<string, unknown>;
  /** A 4xx at submit with this code, or a job that ends (succeeded, or failed with a code). */
  expect: { refused: string } | "job";
}

const BOMBS: readonly BombFormat[] = ["png", "jpeg", "webp", "avif", "gif", "tiff"];

// Background removal runs its model at a fixed size, so a large input costs decode, resize,
// compositing and encode, not minutes of inference on a 2-core machine.
const CUTOUT = { op: "background-removal", options: { output: "cutout", background: "#ffffff" } } as const;
// Low light on every pixel at full size (its model is tiny): the float path of enhance, denoiser off.
const LOW_LIGHT = { op: "enhance", options: { mode: "low-light", denoise: 0 } } as const;

const TOO_LARGE = { refused: "IMAGE_TOO_LARGE" };

/**
 * The set: a pixel bomb in every input format, a real 20000×14000 jpeg, a 40 MP avif (over the
 * avif limit) and a 6000×4000 12-bit one (at it), a decode-time bomb (a jpeg of 100 000 scans),
 * the largest jpeg the 40 MP limit lets through, CMYK jpeg, 16-bit png and tiff, and animated gif
 * and webp of 300 frames. `scale` shrinks the large ones that pass (1 = the sizes above).
 */
export async function hostileCases(scale = 1): Promise<HostileCase[]> {
  const size = (width: number, height: number) => ({
    width: Math.round(width * scale),
    height: Math.round(height * scale),
  });
  const cases: HostileCase[] = [];
  for (const format of BOMBS) {
    cases.push({ name: `bomb-${format}`, bytes: await pixelBomb(format), ...CUTOUT, expect: TOO_LARGE });
  }
  cases.push(
    { name: "jpeg-20000x14000", bytes: uniformJpeg(), ...CUTOUT, expect: TOO_LARGE },
    { name: "avif-8000x5000", bytes: await largeAvif({ width: 8000, height: 5000 }), ...CUTOUT, expect: TOO_LARGE },
    {
      name: "jpeg-100000-scans-8000x5000",
      bytes: scanBombJpeg({ width: 8000, height: 5000, scans: 100_000 }),
      ...CUTOUT,
      expect: { refused: "UNSUPPORTED_IMAGE" },
    },
  );
  const big = size(8000, 5000);
  const mid = size(6000, 4000);
  cases.push(
    { name: `jpeg-${big.width}x${big.height}`, bytes: await largeJpeg(big), ...LOW_LIGHT, expect: "job" },
    {
      name: `avif-12bit-${mid.width}x${mid.height}`,
      bytes: await largeAvif({ ...mid, bitDepth: 12, quality: 90 }),
      ...CUTOUT,
      expect: "job",
    },
    { name: `cmyk-jpeg-${mid.width}x${mid.height}`, bytes: await cmykJpeg(mid), ...CUTOUT, expect: "job" },
    { name: `png16-${mid.width}x${mid.height}`, bytes: await png16(mid), ...CUTOUT, expect: "job" },
    { name: `tiff16-${mid.width}x${mid.height}`, bytes: await tiff16(mid), ...LOW_LIGHT, expect: "job" },
    {
      name: "gif-300-frames-800x800",
      bytes: await animatedGif({ width: 800, height: 800, frames: 300 }),
      ...CUTOUT,
      expect: "job",
    },
    {
      name: "webp-300-frames-800x800",
      bytes: await manyFrames({ format: "webp", width: 800, height: 800, frames: 300 }),
      ...CUTOUT,
      expect: "job",
    },
  );
  return cases;
}
