import type { OpHandler } from "./op-handler.js";
import { transformWithModel } from "./transform-with-model.js";

/** Comic look: the style's ×1 model (the ink graph, or a painterly network) over the whole photo. */
export const comic: OpHandler<"comic"> = {
  run: (models, image, _options, ctx) => transformWithModel(models.main, image, ctx),
};
