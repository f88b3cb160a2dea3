export {
  buildTinyModel,
  type AttributeValue,
  type TinyInitializer,
  type TinyModelSpec,
  type TinyNode,
  type TinyValue,
} from "./build-model.js";
export {
  tinyDenoiseModel,
  tinyEnhanceModel,
  tinyMaskModel,
  tinyUpscaleModel,
  type TinyEnhanceSpec,
  type TinyUpscaleSpec,
} from "./tiny-models.js";
export { sha256Hex, writeTinyModel, type WrittenModel } from "./write-model.js";
