export { backendProblems } from "./backend-problems.js";
export { createBackend } from "./create-backend.js";
export { BACKENDS, readBackendConfig, type BackendConfig, type BackendKind } from "./backend-config.js";
export { modelSourceFor } from "./model-source.js";
