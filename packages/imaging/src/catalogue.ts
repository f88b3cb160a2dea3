/**
 * The light half of the package, for processes that run no model (the API): the model catalogue
 * and registry, model choice, and image header probing. Nothing here loads onnxruntime.
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
export {
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
