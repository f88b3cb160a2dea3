export { slowUpscaleModel, type SlowUpscaleSpec } from "./slow-upscale-model.js";
export { writeTestModels, type TestModels } from "./test-models.js";
export { readEnvExample } from "./env-example.js";
