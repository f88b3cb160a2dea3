import { enhancePhoto } from "../enhance.js";
import { required, type OpHandler } from "./op-handler.js";

/** Exposure and noise, measured on the photo: denoise as needed, then brighten as needed. */
export const enhance: OpHandler<"enhance"> = {
  run: (models, image, options, ctx) =>
    enhancePhoto(
      { lowLight: models.main, denoiser: required(models.denoiser, "a denoiser") },
      image,
      options,
      ctx,
      ctx.tiles,
    ),
};
