import * as ort from "onnxruntime-node";
import { AppError } from "@imagen/core";
import type { ModelContract } from "./models.js";
import { hwcToNchw, nchwToHwc } from "./tensor.js";
import { planTiles } from "./tiling.js";

/** An 8-bit RGB image, HWC. */
export interface RgbImage {
  rgb: Buffer;
  width: number;
  height: number;
}

/** Cancellation and progress hooks, called between tiles. */
export interface RunContext {
  signal: AbortSignal;
  onProgress(fraction: number): Promise<void> | void;
}

/** Overrides of the contract's tiling, e.g. smaller tiles in tests. */
export interface TileOverrides {
  tileSize?: number;
  tileOverlap?: number;
}

/**
 * Runs an image→image model over `image` in tiles and stitches the tile cores into an output of
 * `contract.scale`× the size. Tiles overlap by `contract.tileOverlap`, so for a model whose receptive
 * field fits in the overlap the result equals a whole-image run. One input tensor is reused for every
 * tile; `signal.throwIfAborted()` and `onProgress(done/total)` run between tiles.
 */
export async function runImageToImage(
  session: ort.InferenceSession,
  contract: ModelContract,
  image: RgbImage,
  ctx: RunContext,
  overrides: TileOverrides = {},
): Promise<RgbImage> {
  const plan = planTiles(image.width, image.height, {
    tileSize: overrides.tileSize ?? contract.tileSize,
    overlap: overrides.tileOverlap ?? contract.tileOverlap,
    multiple: contract.multiple,
  });
  const { scale, range } = contract;
  const out: RgbImage = {
    rgb: Buffer.alloc(image.width * scale * image.height * scale * 3),
    width: image.width * scale,
    height: image.height * scale,
  };
  const inputData = new Float32Array(3 * plan.windowWidth * plan.windowHeight);
  const input = new ort.Tensor("float32", inputData, [1, 3, plan.windowHeight, plan.windowWidth]);
  const expected = [1, 3, plan.windowHeight * scale, plan.windowWidth * scale];
  let done = 0;
  for (const tile of plan.tiles) {
    ctx.signal.throwIfAborted();
    hwcToNchw(image.rgb, image, tile.window, inputData, range);
    const result = await session.run({ [contract.input]: input });
    const output = result[contract.output];
    if (!output || output.type !== "float32" || output.dims.join() !== expected.join()) {
      throw new AppError(
        "PROCESSING_FAILED",
        `Expected model output ${contract.output} float32 [${expected.join(",")}] but received ${output ? `${output.type} [${output.dims.join(",")}]` : "none"}`,
      );
    }
    const region = {
      x: (tile.core.x - tile.window.x) * scale,
      y: (tile.core.y - tile.window.y) * scale,
      width: tile.core.width * scale,
      height: tile.core.height * scale,
    };
    const at = { x: tile.core.x * scale, y: tile.core.y * scale };
    nchwToHwc(
      output.data as Float32Array,
      { width: expected[3]!, height: expected[2]! },
      region,
      out.rgb,
      out,
      at,
      range,
    );
    output.dispose();
    done += 1;
    await ctx.onProgress(done / plan.tiles.length);
  }
  return out;
}
