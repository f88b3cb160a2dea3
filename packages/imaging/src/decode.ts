import sharp, { type OutputInfo } from "sharp";
import { PermanentJobError } from "@imagen/core";

/** A decoded image: 8-bit sRGB, HWC. `alpha` is one channel of the same size, or null. */
export interface DecodedImage {
  rgb: Buffer;
  alpha: Buffer | null;
  width: number;
  height: number;
}

/**
 * Decodes the first frame of `data` to raw 8-bit sRGB with EXIF orientation applied (16-bit,
 * greyscale, CMYK and palette inputs all come out as 8-bit RGB). Every pixel is read with
 * `failOn: "truncated"`, so a cut-off file raises `UNSUPPORTED_IMAGE` (a permanent job error), and
 * `limitInputPixels` refuses anything over `maxInputPixels` with `IMAGE_TOO_LARGE`.
 */
export async function decodeImage(data: Buffer, limits: { maxInputPixels: number }): Promise<DecodedImage> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(data, { limitInputPixels: limits.maxInputPixels, failOn: "truncated" })
      .rotate()
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw translateDecodeError(cause, limits.maxInputPixels);
  }
  const { width, height, channels } = raw.info;
  if (channels === 3) return { rgb: raw.data, alpha: null, width, height };
  if (channels !== 4) {
    throw new PermanentJobError(
      "UNSUPPORTED_IMAGE",
      `Expected 3 or 4 channels after sRGB conversion but received ${channels}`,
    );
  }
  const { rgb, alpha } = splitAlpha(raw.data, width * height);
  return { rgb, alpha, width, height };
}

/** Splits interleaved RGBA into RGB and a single alpha channel. */
export function splitAlpha(rgba: Buffer, pixels: number): { rgb: Buffer; alpha: Buffer } {
  const rgb = Buffer.allocUnsafe(pixels * 3);
  const alpha = Buffer.allocUnsafe(pixels);
  for (let p = 0, s = 0, d = 0; p < pixels; p++, s += 4, d += 3) {
    rgb[d] = rgba[s]!;
    rgb[d + 1] = rgba[s + 1]!;
    rgb[d + 2] = rgba[s + 2]!;
    alpha[p] = rgba[s + 3]!;
  }
  return { rgb, alpha };
}

function translateDecodeError(cause: unknown, maxInputPixels: number): PermanentJobError {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/pixel limit/i.test(message)) {
    return new PermanentJobError(
      "IMAGE_TOO_LARGE",
      `Expected an image of at most ${maxInputPixels} pixels but received a larger one`,
      {
        cause,
      },
    );
  }
  return new PermanentJobError(
    "UNSUPPORTED_IMAGE",
    `Expected a complete, decodable image but decoding failed: ${message}`,
    {
      cause,
    },
  );
}
