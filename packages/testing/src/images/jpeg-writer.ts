/**
 * Pieces of a baseline or progressive greyscale jpeg, for generators that write the entropy-coded
 * data themselves (a canvas an encoder would have to hold, or a scan structure no encoder writes).
 */

/** A marker segment: FF `marker`, a 2-byte length (itself included), then `body`. */
export function segment(marker: number, body: readonly number[] | Buffer): Buffer {
  const data = Buffer.from(body);
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([head, data]);
}

/** A frame header (SOF0 baseline, SOF2 progressive) of one 8-bit component, 1×1 sampling, table 0. */
export function greyFrame(marker: 0xc0 | 0xc2, width: number, height: number): Buffer {
  const body = Buffer.from([8, 0, 0, 0, 0, 1, 1, 0x11, 0]);
  body.writeUInt16BE(height, 1);
  body.writeUInt16BE(width, 3);
  return segment(marker, body);
}

/** A quantisation table of all ones: every coefficient is taken as coded. */
export const FLAT_QUANTISATION = segment(0xdb, [0, ...Array<number>(64).fill(1)]);

/** A DC table 0 with one 2-bit code, "00": category 0, a zero difference from the previous block. */
export const ZERO_DC_TABLE = segment(0xc4, [0x00, 0, 1, ...Array<number>(14).fill(0), 0x00]);

/** 8×8 blocks in a `width`×`height` greyscale frame. */
export function blockCount(width: number, height: number): number {
  return Math.ceil(width / 8) * Math.ceil(height / 8);
}

/**
 * Entropy-coded data of `blocks` blocks that each take the 2-bit code "00" `codesPerBlock` times
 * (DC only: 1; DC and end-of-block: 2), padded with 1-bits. Zero bits only, so no byte needs stuffing.
 */
export function zeroCodedBlocks(blocks: number, codesPerBlock: number): Buffer {
  const bits = blocks * codesPerBlock * 2;
  const data = Buffer.alloc(Math.ceil(bits / 8));
  const used = bits % 8;
  if (used > 0) data[data.length - 1] = 0xff >> used;
  return data;
}

/** Writes bits most-significant first, stuffing a 0x00 after every 0xFF byte as jpeg requires. */
export class BitWriter {
  private readonly bytes: number[] = [];
  private acc = 0;
  private count = 0;

  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      this.count += 1;
      if (this.count === 8) {
        this.bytes.push(this.acc);
        if (this.acc === 0xff) this.bytes.push(0x00);
        this.acc = 0;
        this.count = 0;
      }
    }
  }

  /** The bytes, the last one padded with 1-bits. */
  finish(): Buffer {
    while (this.count > 0) this.write(1, 1);
    return Buffer.from(this.bytes);
  }
}
