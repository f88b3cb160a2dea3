import type { OpHandler } from "./op-handler.js";
import { transformWithModel } from "./transform-with-model.js";

/** Super-resolution: the model's ×scale in tiles, resized to the scale asked for (×2 from a ×4 model). */
export const upscale: OpHandler<"upscale"> = {
  run: (models, image, _options, ctx) => transformWithModel(models.main, image, ctx),
};
