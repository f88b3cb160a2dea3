export {
  animatedGif,
  exifRotatedJpeg,
  greyPng,
  notAnImage,
  patternImage,
  patternPixels,
  png16,
  rgbaPng,
  truncatedJpeg,
  type FixtureFormat,
  type FixtureSpec,
} from "./encoded-images.js";
export { decompressionBombPng } from "./bomb-png.js";
export { cmykJpeg, largeAvif, largeJpeg, manyFrames, tiff16, uniformJpeg } from "./heavy-images.js";
export { BOMB_SIZES, pixelBomb, type BombFormat, type BombSize } from "./pixel-bombs.js";
export { scanBombJpeg } from "./scan-bomb-jpeg.js";
