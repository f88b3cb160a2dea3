/**
 * What a process that runs no model (the API) needs of the models: the catalogue and registry,
 * model choice, model downloads, and image header probing. Nothing here loads onnxruntime, and this
 * package does not depend on it, so the API's image does not carry it.
 */
export { configureSharp } from "./configure-sharp.js";
export { chooseModels, choiceProblems, modelsOf, type ModelChoice } from "./model-choice.js";
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
export { downloadModel, type DownloadProgress, type DownloadTarget } from "./model-download.js";
export { assertPixelLimit } from "./pixel-limit.js";
export {
  createHttpModelSource,
  createUrlModelSource,
  createModelSource,
  parseModelSource,
  readModelSource,
  type ModelSource,
  type ModelSourceSpec,
} from "./model-source.js";
export {
  INPUT_FORMATS,
  probeImage,
  sniffFormat,
  type InputFormat,
  type ProbeLimits,
  type ProbedImage,
} from "./probe.js";
