import sharp, { type Sharp } from "sharp";
import { patternPixels } from "./encoded-images.js";
import { FLAT_QUANTISATION, ZERO_DC_TABLE, blockCount, greyFrame, segment, zeroCodedBlocks } from "./jpeg-writer.js";

/**
 * Valid but costly inputs for the bounded-memory checks: each decodes completely, unlike a pixel
 * bomb. All are made at test time; the large ones cost the maker memory and seconds, so tests keep
 * them small and the bench makes them big.
 */

/**
 * A complete greyscale baseline jpeg of `width`×`height` (default 20000×14000), every 8×8 block
 * mid-grey, written directly rather than by an encoder: an encoder would first hold the whole
 * canvas in memory. Each block is 4 bits (a zero DC difference, then end-of-block), so 280 MP is
 * about 2.2 MB of real entropy-coded data.
 */
export function uniformJpeg(spec: { width: number; height: number } = { width: 20000, height: 14000 }): Buffer {
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    FLAT_QUANTISATION,
    greyFrame(0xc0, spec.width, spec.height),
    ZERO_DC_TABLE,
    // AC table 0 with the one 2-bit code "00": end-of-block.
    segment(0xc4, [0x10, 0, 1, ...Array<number>(14).fill(0), 0x00]),
    segment(0xda, [1, 1, 0x00, 0, 63, 0]),
    zeroCodedBlocks(blockCount(spec.width, spec.height), 2),
    Buffer.from([0xff, 0xd9]),
  ]);
}

/** The pattern of `patternPixels`, scaled up smoothly from a small tile to `width`×`height`. */
function scaledPattern(width: number, height: number): Sharp {
  const side = 64;
  return sharp(patternPixels(side, side), { raw: { width: side, height: side, channels: 3 } }).resize(width, height, {
    fit: "fill",
  });
}

/** An avif of `width`×`height` (real AV1 data, 4:4:4; 8-bit unless `bitDepth` says 10 or 12). */
export async function largeAvif(spec: {
  width: number;
  height: number;
  quality?: number;
  bitDepth?: 8 | 10 | 12;
}): Promise<Buffer> {
  return scaledPattern(spec.width, spec.height)
    .avif({ quality: spec.quality ?? 60, effort: 0, bitdepth: spec.bitDepth ?? 8 })
    .toBuffer();
}

/** A jpeg of `width`×`height` with real content (the pattern, scaled). */
export async function largeJpeg(spec: { width: number; height: number }): Promise<Buffer> {
  return scaledPattern(spec.width, spec.height).jpeg({ quality: 90 }).toBuffer();
}

/** A 4-channel CMYK jpeg, as print workflows write them. */
export async function cmykJpeg(spec: { width: number; height: number }): Promise<Buffer> {
  return scaledPattern(spec.width, spec.height).toColourspace("cmyk").jpeg({ quality: 90 }).toBuffer();
}

/** A 16-bit-per-channel RGB tiff (deflate), the tiff twin of `png16`. */
export async function tiff16(spec: { width: number; height: number }): Promise<Buffer> {
  return scaledPattern(spec.width, spec.height).toColourspace("rgb16").tiff({ compression: "deflate" }).toBuffer();
}

/**
 * An animated image of `frames` frames of `width`×`height` (first red, then green, blue, …): a
 * decoder that reads every frame needs `frames` times a still's memory.
 */
export async function manyFrames(spec: {
  format: "gif" | "webp";
  width: number;
  height: number;
  frames: number;
}): Promise<Buffer> {
  const { width, height, frames } = spec;
  const colours = ["#ff0000", "#00ff00", "#0000ff"];
  const frame = (i: number): Promise<Buffer> =>
    sharp({ create: { width, height, channels: 3, background: colours[i % colours.length] ?? "#000000" } })
      .png()
      .toBuffer();
  const images = await Promise.all(Array.from({ length: frames }, (_, i) => frame(i)));
  const joined = sharp(images, { join: { animated: true } });
  return spec.format === "gif" ? joined.gif().toBuffer() : joined.webp({ quality: 50, effort: 0 }).toBuffer();
}
