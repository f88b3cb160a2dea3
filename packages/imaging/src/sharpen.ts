import sharp from "sharp";
import type { RawImage } from "./encode.js";
import type { ModelContract } from "./models.js";

/**
 * Applies the contract's unsharp mask to the colour channels of `image` (alpha untouched). It
 * restores the micro-contrast a light GAN upscaler smooths away; it adds no texture the model
 * did not draw.
 */
export async function sharpenRaw(image: RawImage, settings: NonNullable<ModelContract["sharpen"]>): Promise<RawImage> {
  if ((image.channels ?? 3) !== 3) return image;
  const rgb = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .sharpen({ sigma: settings.sigma, m1: settings.flat, m2: settings.jagged })
    .raw()
    .toBuffer();
  return { ...image, rgb };
}
