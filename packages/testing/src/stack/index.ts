export { slowUpscaleModel } from "./slow-upscale-model.js";
export { writeTestModels, type TestModels } from "./test-models.js";
