import type { DecodedImage } from "../decode.js";
import type { RawImage } from "../encode.js";
import { transformImage } from "../image-to-image.js";
import type { LoadedModel } from "../sessions.js";
import type { OpContext } from "./op-handler.js";

/**
 * The image→image step of upscale and comic: the model in tiles; its contract's unsharp mask goes
 * to the encoder, which applies it in the same pass as the encoding.
 */
export async function transformWithModel(model: LoadedModel, image: DecodedImage, ctx: OpContext): Promise<RawImage> {
  const out = await transformImage(model.session, model.entry.contract, image, ctx, {
    target: ctx.target,
    tiles: ctx.tiles,
  });
  const { sharpen } = model.entry.contract;
  return sharpen ? { ...out, sharpen } : out;
}
