import sharp, { type Sharp } from "sharp";

/** Formats the fixtures can be encoded in. */
export type FixtureFormat = "png" | "jpeg" | "webp" | "avif" | "gif" | "tiff";

/** Size and encoding of a generated fixture. */
export interface FixtureSpec {
  width: number;
  height: number;
  format?: FixtureFormat;
  /** Encoder quality for lossy formats. */
  quality?: number;
}

/**
 * A deterministic RGB pattern as raw HWC bytes: red ramps left→right, green top→bottom, blue is an
 * 8-px checkerboard, so any flip, rotation or shift is visible.
 */
export function patternPixels(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round((x / Math.max(1, width - 1)) * 255);
      data[i + 1] = Math.round((y / Math.max(1, height - 1)) * 255);
      data[i + 2] = ((x >> 3) + (y >> 3)) % 2 === 0 ? 40 : 215;
    }
  }
  return data;
}

/** The pattern of {@link patternPixels}, encoded (default png). */
export async function patternImage(spec: FixtureSpec): Promise<Buffer> {
  const { width, height } = spec;
  const image = sharp(patternPixels(width, height), { raw: { width, height, channels: 3 } });
  return encodeAs(image, spec.format ?? "png", spec.quality);
}

/** An RGBA png: the pattern with alpha ramping 0 (left) → 255 (right). */
export async function rgbaPng(spec: { width: number; height: number }): Promise<Buffer> {
  const { width, height } = spec;
  const rgb = patternPixels(width, height);
  const rgba = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgb.copy(rgba, p * 4, p * 3, p * 3 + 3);
    rgba[p * 4 + 3] = Math.round(((p % width) / Math.max(1, width - 1)) * 255);
  }
  return sharp(rgba, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/**
 * A jpeg stored as `width`×`height` with EXIF orientation 6 (rotate 90° clockwise to view), so a
 * correct decoder yields `height`×`width`.
 */
export async function exifRotatedJpeg(spec: { width: number; height: number }): Promise<Buffer> {
  const { width, height } = spec;
  return sharp(patternPixels(width, height), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

/** A 16-bit-per-channel RGB png of the pattern. */
export async function png16(spec: { width: number; height: number }): Promise<Buffer> {
  const { width, height } = spec;
  return sharp(patternPixels(width, height), { raw: { width, height, channels: 3 } })
    .toColourspace("rgb16")
    .png()
    .toBuffer();
}

/** A single-channel (greyscale) png with a horizontal ramp. */
export async function greyPng(spec: { width: number; height: number }): Promise<Buffer> {
  const { width, height } = spec;
  const data = Buffer.alloc(width * height);
  for (let p = 0; p < data.length; p++) data[p] = Math.round(((p % width) / Math.max(1, width - 1)) * 255);
  return sharp(data, { raw: { width, height, channels: 1 } })
    .toColourspace("b-w")
    .png()
    .toBuffer();
}

/** A jpeg whose header is intact but whose entropy-coded data is cut off at `keepFraction` (0.5). */
export async function truncatedJpeg(spec: { width: number; height: number; keepFraction?: number }): Promise<Buffer> {
  const full = await patternImage({ ...spec, format: "jpeg", quality: 95 });
  return full.subarray(0, Math.floor(full.length * (spec.keepFraction ?? 0.5)));
}

/** Bytes that are no image at all (text), for the "not an image" path. */
export function notAnImage(): Buffer {
  return Buffer.from("This is plain text, not an image. ".repeat(20), "utf8");
}

/** An animated gif of `frames` solid-colour frames (first red, then green, blue, …). */
export async function animatedGif(spec: { width: number; height: number; frames?: number }): Promise<Buffer> {
  const { width, height } = spec;
  const colours = [
    { r: 255, g: 0, b: 0 },
    { r: 0, g: 255, b: 0 },
    { r: 0, g: 0, b: 255 },
  ];
  const frames = await Promise.all(
    Array.from({ length: spec.frames ?? 3 }, (_, i) =>
      sharp({ create: { width, height, channels: 3, background: colours[i % colours.length] ?? colours[0]! } })
        .png()
        .toBuffer(),
    ),
  );
  return sharp(frames, { join: { animated: true } })
    .gif()
    .toBuffer();
}

function encodeAs(image: Sharp, format: FixtureFormat, quality: number | undefined): Promise<Buffer> {
  switch (format) {
    case "png":
      return image.png().toBuffer();
    case "jpeg":
      return image.jpeg({ quality: quality ?? 90 }).toBuffer();
    case "webp":
      return image.webp({ quality: quality ?? 90 }).toBuffer();
    case "avif":
      return image.avif({ quality: quality ?? 60, effort: 0 }).toBuffer();
    case "gif":
      return image.gif().toBuffer();
    case "tiff":
      return image.tiff().toBuffer();
  }
}
