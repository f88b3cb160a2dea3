import { performance } from "node:perf_hooks";
import type { DecodedImage } from "../decode.js";
import type { RawImage } from "../encode.js";
import { addTime, transformImage } from "../image-to-image.js";
import type { LoadedModel } from "../sessions.js";
import { sharpenRaw } from "../sharpen.js";
import type { OpContext } from "./op-handler.js";

/** The image→image step of upscale and comic: the model in tiles, then its contract's unsharp mask. */
export async function transformWithModel(model: LoadedModel, image: DecodedImage, ctx: OpContext): Promise<RawImage> {
  const out = await transformImage(model.session, model.entry.contract, image, ctx, {
    target: ctx.target,
    tiles: ctx.tiles,
  });
  const { sharpen } = model.entry.contract;
  if (!sharpen) return out;
  const t = performance.now();
  const sharpened = await sharpenRaw(out, sharpen);
  addTime(ctx.times, "postMs", t);
  return sharpened;
}
