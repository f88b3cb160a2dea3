import sharp, { type Metadata } from "sharp";
import { PermanentJobError } from "@imagen/core";
import { countJpegScans } from "./jpeg-scans.js";
import { assertPixelLimit } from "./pixel-limit.js";
import { isTruncated } from "./truncation.js";

/** Input formats the service accepts, as sniffed from magic bytes. */
export const INPUT_FORMATS = ["jpeg", "png", "webp", "avif", "heif", "gif", "tiff"] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** What the header says about an image; `width`/`height` are after EXIF orientation. */
export interface ProbedImage {
  format: InputFormat;
  width: number;
  height: number;
  hasAlpha: boolean;
  /** Frames of an animated image (1 for a still); only the first is processed. */
  pages: number;
  channels: number;
  /** libvips band format, e.g. `uchar` (8-bit) or `ushort` (16-bit). */
  depth: string;
  /** libvips interpretation, e.g. `srgb`, `b-w`, `cmyk`. */
  space: string;
  /** EXIF orientation 1–8 (1 when absent). */
  orientation: number;
}

/** Pixel limits of the input, checked from the header before any decoding. */
export interface ProbeLimits {
  maxInputPixels: number;
  /** A lower limit for avif and heif; default {@link MAX_HEIF_INPUT_PIXELS} (never above `maxInputPixels`). */
  maxHeifPixels?: number;
}

/**
 * libheif decodes a whole frame in one call, holding the AV1 frame buffers and an interleaved copy
 * at once: about 19 bytes a pixel for 8-bit 4:4:4 and 25 for 12-bit (measured), against 3–4 for the
 * strip-by-strip decoders. 24 MP (a 6000×4000 camera frame) keeps that near 600 MB; 40 MP would
 * take 1 GB in one burst.
 */
export const MAX_HEIF_INPUT_PIXELS = 24_000_000;

/**
 * Each scan of a progressive jpeg costs the decoder a pass over every block, and libjpeg reads
 * them all before the first row comes out: 100 000 scans fit in an upload and take minutes.
 * Encoders write 10 (libjpeg's progression for colour) to a few dozen; 100 bounds the passes.
 */
export const MAX_JPEG_SCANS = 100;

const HEIF_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1"]);

/**
 * Sniffs the real type from the magic bytes (never the filename or content type).
 * Returns undefined for anything that is not one of {@link INPUT_FORMATS}.
 */
export function sniffFormat(data: Uint8Array): InputFormat | undefined {
  const ascii = (start: number, end: number): string => Buffer.from(data.subarray(start, end)).toString("latin1");
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return "jpeg";
  if (ascii(0, 8) === "\x89PNG\r\n\x1a\n") return "png";
  if (ascii(0, 6) === "GIF87a" || ascii(0, 6) === "GIF89a") return "gif";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
  if (ascii(0, 4) === "II*\0" || ascii(0, 4) === "MM\0*") return "tiff";
  if (ascii(4, 8) === "ftyp") {
    const brand = ascii(8, 12);
    if (brand === "avif" || brand === "avis") return "avif";
    if (HEIF_BRANDS.has(brand)) return "heif";
  }
  return undefined;
}

/**
 * Reads an image's header without decoding its pixels. Throws `UNSUPPORTED_IMAGE` for bytes that
 * are not an accepted image or whose header cannot be read, and for a jpeg of more than
 * {@link MAX_JPEG_SCANS} scans; `IMAGE_TOO_LARGE` above `maxInputPixels` (avif and heif: above
 * `maxHeifPixels`). A body cut short is caught from its missing end marker (jpeg, png, gif, webp);
 * other damage is found by {@link decodeImage}, which reads every pixel with `failOn: "truncated"`.
 */
export async function probeImage(data: Buffer, limits: ProbeLimits): Promise<ProbedImage> {
  const format = sniffFormat(data);
  if (!format) {
    throw new PermanentJobError(
      "UNSUPPORTED_IMAGE",
      `Expected a ${INPUT_FORMATS.join(", ")} image but received ${data.length} bytes starting ${hexPrefix(data)} (no known image signature)`,
    );
  }
  let meta: Metadata;
  try {
    // The pixel limit is checked below with a clearer message, so sharp's own check is off here.
    meta = await sharp(data, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new PermanentJobError(
      "UNSUPPORTED_IMAGE",
      `Expected a readable ${format} header but sharp could not read it`,
      { cause },
    );
  }
  const orientation = meta.orientation ?? 1;
  const swap = orientation >= 5 && orientation <= 8;
  const stored = { width: meta.width, height: meta.height };
  const probed: ProbedImage = {
    format,
    width: swap ? stored.height : stored.width,
    height: swap ? stored.width : stored.height,
    hasAlpha: meta.hasAlpha,
    pages: meta.pages ?? 1,
    channels: meta.channels,
    depth: meta.depth,
    space: meta.space,
    orientation,
  };
  assertPixelLimit(probed, limits.maxInputPixels, { code: "IMAGE_TOO_LARGE", what: "an image" });
  if (format === "avif" || format === "heif") {
    const max = Math.min(limits.maxHeifPixels ?? MAX_HEIF_INPUT_PIXELS, limits.maxInputPixels);
    assertPixelLimit(probed, max, {
      code: "IMAGE_TOO_LARGE",
      what: format === "avif" ? "an avif image" : "a heif image",
    });
  }
  if (isTruncated(format, data)) {
    throw new PermanentJobError(
      "UNSUPPORTED_IMAGE",
      `Expected a complete ${format} image but received ${data.length} bytes that stop before its end marker (truncated)`,
    );
  }
  if (format === "jpeg") assertScanLimit(data);
  return probed;
}

function assertScanLimit(data: Buffer): void {
  const scans = countJpegScans(data, MAX_JPEG_SCANS);
  if (scans > MAX_JPEG_SCANS) {
    throw new PermanentJobError(
      "UNSUPPORTED_IMAGE",
      `Expected a jpeg of at most ${MAX_JPEG_SCANS} scans but received one with more (a progression this long takes minutes to decode)`,
    );
  }
}

function hexPrefix(data: Uint8Array): string {
  return (
    Buffer.from(data.subarray(0, 8))
      .toString("hex")
      .replace(/(..)(?!$)/g, "$1 ") || "(empty)"
  );
}
