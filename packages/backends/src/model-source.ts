import { createGcsModelSource } from "@imagen/backend-gcp";
import { createModelSource, type ModelSource, type ModelSourceSpec } from "@imagen/catalogue";
import type { BackendConfig } from "./backend-config.js";

/**
 * Where the worker downloads missing model files from (IMAGEN_MODEL_SOURCE): an https base, or a
 * Cloud Storage prefix read through the same endpoint as the backend's blob store (an emulator in
 * tests and compose).
 */
export function modelSourceFor(spec: ModelSourceSpec, backend: BackendConfig): ModelSource {
  const storage = backend.kind === "gcp" ? backend.gcp.emulators.storage : undefined;
  return createModelSource(spec, { gcs: (gcs) => createGcsModelSource({ ...gcs, apiEndpoint: storage }) });
}
