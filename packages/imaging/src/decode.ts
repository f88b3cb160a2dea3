import sharp, { type OutputInfo } from "sharp";
import { PermanentJobError } from "@imagen/core";

/** A decoded image: 8-bit sRGB, HWC. `alpha` is one channel of the same size, or null. */
export interface DecodedImage {
  rgb: Buffer;
  alpha: Buffer | null;
  width: number;
  height: number;
}

/** What a decode may cost. */
export interface DecodeLimits {
  maxInputPixels: number;
  /** Seconds decoding may run before libvips stops it; default {@link DECODE_TIMEOUT_S}. Whole seconds, at least 1. */
  decodeTimeoutS?: number;
}

/**
 * Every input the probe lets through (40 MP, 100 jpeg scans, 24 MP of avif) decodes in under 5 s
 * on 2 loaded cores; 30 s leaves room for slower machines and still ends a decode-time bomb the
 * header checks missed long before a job timeout would.
 */
export const DECODE_TIMEOUT_S = 30;

/**
 * Decodes the first frame of `data` to raw 8-bit sRGB with EXIF orientation applied (16-bit,
 * greyscale, CMYK and palette inputs all come out as 8-bit RGB). Every pixel is read with
 * `failOn: "truncated"`, so a cut-off file raises `UNSUPPORTED_IMAGE` (a permanent job error), and
 * `limitInputPixels` refuses anything over `maxInputPixels` with `IMAGE_TOO_LARGE`, as does a
 * decode still running after `decodeTimeoutS` (libvips stops it at its next strip: libheif's
 * whole-frame decode and libjpeg's scans run to their end first, hence the probe's header limits).
 */
export async function decodeImage(data: Buffer, limits: DecodeLimits): Promise<DecodedImage> {
  const timeoutS = limits.decodeTimeoutS ?? DECODE_TIMEOUT_S;
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(data, {
      limitInputPixels: limits.maxInputPixels,
      failOn: "truncated",
      // One frame of an animated input, never all of them (each would cost a still's memory).
      pages: 1,
      page: 0,
      // One pass, top to bottom: libvips keeps a few strips, not the decoded image (rotation asks for more itself).
      sequentialRead: true,
    })
      .timeout({ seconds: timeoutS })
      .rotate()
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw translateDecodeError(cause, limits.maxInputPixels, timeoutS);
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

function translateDecodeError(cause: unknown, maxInputPixels: number, timeoutS: number): PermanentJobError {
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
  // sharp's message: "timeout: 27% complete".
  const timedOut = /^timeout: (\d+)% complete/.exec(message);
  if (timedOut) {
    return new PermanentJobError(
      "IMAGE_TOO_LARGE",
      `Expected an image that decodes within ${timeoutS} s but decoding was stopped at ${timedOut[1]}% after ${timeoutS} s`,
      { cause },
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
