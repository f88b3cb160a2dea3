import type { InputFormat } from "./probe.js";

// Writers may append a little padding or metadata after the end marker; allow this much.
const TRAILER_SLACK_BYTES = 1024;

function endsNear(data: Buffer, marker: Buffer): boolean {
  const at = data.lastIndexOf(marker);
  return at >= 0 && data.length - (at + marker.length) <= TRAILER_SLACK_BYTES;
}

const CHECKS: Partial<Record<InputFormat, (data: Buffer) => boolean>> = {
  // Entropy-coded JPEG data never contains FF D9 (0xFF is byte-stuffed), so a cut body lacks it.
  jpeg: (data) => endsNear(data, Buffer.from([0xff, 0xd9])),
  png: (data) => endsNear(data, Buffer.from("IEND", "latin1")),
  gif: (data) => endsNear(data, Buffer.from([0x3b])),
  webp: (data) => data.length >= 8 && data.readUInt32LE(4) + 8 <= data.length,
};

/**
 * Whether the bytes stop before the format's end marker: a cheap check on the whole upload, made
 * without decoding. Formats without a cheap check (tiff, avif, heif) report false; decoding catches
 * those later.
 */
export function isTruncated(format: InputFormat, data: Buffer): boolean {
  const check = CHECKS[format];
  return check ? !check(data) : false;
}
