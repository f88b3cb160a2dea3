import {
  animatedGif,
  cmykJpeg,
  largeAvif,
  manyFrames,
  pixelBomb,
  png16,
  scanBombJpeg,
  tiff16,
  uniformJpeg,
} from "@imagen/testing/images";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTinyPipelines, idle } from "../test/model-fixtures.js";
import type { Pipelines } from "./pipelines.js";

type Outcome = { refused: string } | { width: number; height: number };

// The hostile set of the bounded-memory bench (bench/hostile-inputs.ts), small enough for a test.
type Case = readonly [name: string, make: () => Promise<Buffer> | Buffer, outcome: Outcome];

const CASES: readonly Case[] = [
  ...(["png", "jpeg", "webp", "avif", "gif", "tiff"] as const).map((format): Case => [
    `${format} pixel bomb`,
    () => pixelBomb(format),
    { refused: "IMAGE_TOO_LARGE" },
  ]),
  ["complete 20000×14000 jpeg", () => uniformJpeg(), { refused: "IMAGE_TOO_LARGE" }],
  ["jpeg of 1000 scans", () => scanBombJpeg({ width: 64, height: 48, scans: 1000 }), { refused: "UNSUPPORTED_IMAGE" }],
  ["CMYK jpeg", () => cmykJpeg({ width: 64, height: 48 }), { width: 128, height: 96 }],
  ["16-bit png", () => png16({ width: 64, height: 48 }), { width: 128, height: 96 }],
  ["16-bit tiff", () => tiff16({ width: 64, height: 48 }), { width: 128, height: 96 }],
  ["12-bit avif", () => largeAvif({ width: 64, height: 48, bitDepth: 12 }), { width: 128, height: 96 }],
  ["gif of 60 frames", () => animatedGif({ width: 64, height: 48, frames: 60 }), { width: 128, height: 96 }],
  [
    "webp of 60 frames",
    () => manyFrames({ format: "webp", width: 64, height: 48, frames: 60 }),
    { width: 128, height: 96 },
  ],
];

describe("the hostile image set through the pipelines", () => {
  let fixture: Awaited<ReturnType<typeof createTinyPipelines>>;
  let pipelines: Pipelines;
  beforeAll(async () => {
    fixture = await createTinyPipelines({ tiles: { tileSize: 32, tileOverlap: 4 } });
    pipelines = fixture.pipelines;
  });
  afterAll(() => fixture.close());

  it.each(CASES)("%s ends as expected: refused with its code, or one frame processed", async (_, make, outcome) => {
    const run = pipelines.run("upscale", await make(), { scale: 2, format: "png" }, idle);
    if ("refused" in outcome) {
      await expect(run).rejects.toMatchObject({ code: outcome.refused, name: "PermanentJobError" });
    } else {
      expect(await run).toMatchObject(outcome);
    }
  });
});
