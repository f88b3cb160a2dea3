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
