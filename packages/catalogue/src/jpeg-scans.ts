// Markers with no length field: TEM, RST0–7, SOI, EOI.
const STANDALONE = new Set([0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9]);
const SOS = 0xda;

/**
 * Counts the scans (SOS segments) of a jpeg by walking its marker segments, without decoding;
 * stops once the count passes `stopAbove`. Each scan costs a decoder a pass over every block of a
 * progressive image, so the count bounds decode time where the pixel count cannot. A file whose
 * markers cannot be walked counts the scans found so far (decoding reports the damage).
 */
export function countJpegScans(data: Uint8Array, stopAbove = Number.POSITIVE_INFINITY): number {
  let scans = 0;
  let at = 2; // after SOI
  while (at + 1 < data.length && scans <= stopAbove) {
    if (data[at] !== 0xff) return scans;
    const marker = data[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd9) return scans;
    if (STANDALONE.has(marker)) {
      at += 2;
      continue;
    }
    if (at + 3 >= data.length) return scans;
    const next = at + 2 + ((data[at + 2]! << 8) | data[at + 3]!);
    if (marker !== SOS) {
      at = next;
      continue;
    }
    scans += 1;
    at = endOfEntropyData(data, next);
  }
  return scans;
}

/** The offset of the first marker after entropy-coded data at `from`: FF not followed by 00 or RSTn. */
function endOfEntropyData(data: Uint8Array, from: number): number {
  for (let at = data.indexOf(0xff, from); at >= 0 && at + 1 < data.length; at = data.indexOf(0xff, at + 1)) {
    const next = data[at + 1]!;
    if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7) && next !== 0xff) return at;
  }
  return data.length;
}
