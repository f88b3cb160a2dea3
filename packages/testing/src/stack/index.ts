export { slowUpscaleModel, type SlowUpscaleSpec } from "./slow-upscale-model.js";
export { writeTestModels, type TestModels } from "./test-models.js";
export { CONFIG_SOURCES, readEnvExample } from "./env-example.js";
export { freePort } from "./free-port.js";
