export { configureSharp } from "./configure-sharp.js";
export { removeBackground } from "./background-removal.js";
export { planMaskInput, type MaskInputPlan } from "./mask-model.js";
export { decodeImage, splitAlpha, type DecodedImage } from "./decode.js";
export { defaultOutputFormat, encodeImage, type EncodedImage, type RawImage } from "./encode.js";
export {
  fitToModel,
  runImageToImage,
  transformImage,
  type RgbImage,
  type RunContext,
  type StageTimes,
  type TileOverrides,
  type TransformPlan,
} from "./image-to-image.js";
export { chooseModels, choiceProblems, modelsOf, type ModelChoice } from "./model-choice.js";
export { downloadModel, type DownloadProgress, type DownloadTarget } from "./model-download.js";
export {
  createHttpModelSource,
  createModelSource,
  createUrlModelSource,
  parseModelSource,
  type ModelSource,
  type ModelSourceSpec,
} from "./model-source.js";
export {
  DEFAULT_MANIFEST_PATH,
  ModelContract,
  ModelEntry,
  ModelManifest,
  createModelRegistry,
  loadManifest,
  parseManifest,
  type ModelRegistry,
  type ModelRegistryOptions,
} from "./models.js";
export {
  createPipelines,
  type PipelineDeps,
  type PipelineLimits,
  type PipelineResult,
  type Pipelines,
} from "./pipelines.js";
export {
  INPUT_FORMATS,
  probeImage,
  sniffFormat,
  type InputFormat,
  type ProbeLimits,
  type ProbedImage,
} from "./probe.js";
export { createSessionCache, type SessionCache, type SessionCacheOptions } from "./sessions.js";
export { hwcToNchw, imageToTensor, nchwToHwc, tensorToImage, type Rect, type ValueRange } from "./tensor.js";
export { planTiles, type Tile, type TilePlan, type TilingOptions } from "./tiling.js";
