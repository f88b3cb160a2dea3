// The catalogue, model choice, downloads and probing (@imagen/catalogue); the rest is what runs the models.
export * from "@imagen/catalogue";
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
export { createPipelinePool, type PipelinePool, type PipelinePoolOptions, type ThreadBudget } from "./pipeline-pool.js";
export { OP_HANDLERS, type JobRef, type OpContext, type OpHandler, type OpModels, type OpTable } from "./ops/index.js";
export {
  createPipelines,
  type PipelineContext,
  type PipelineDeps,
  type PipelineLimits,
  type PipelineResult,
  type Pipelines,
} from "./pipelines.js";
export { createSessionCache, type SessionCache, type SessionCacheOptions } from "./sessions.js";
export { hwcToNchw, imageToTensor, nchwToHwc, tensorToImage, type Rect, type ValueRange } from "./tensor.js";
export { planTiles, type Tile, type TilePlan, type TilingOptions } from "./tiling.js";
export { DEFAULT_MAX_TILE_MS } from "./tile-budget.js";
