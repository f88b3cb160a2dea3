import type { ModelSource, ModelSourceSpec } from "@imagen/catalogue";
import { createModelSource } from "@imagen/catalogue";
import type { BackendConfig } from "./backend-config.js";

/**
 * Where the worker downloads missing model files from (IMAGEN_MODEL_SOURCE): an https base, or a
 * Cloud Storage prefix read through the same endpoint as the backend's blob store (an emulator in
 * tests and compose). The Cloud Storage SDK is imported only for a `gs://` source.
 */
export async function modelSourceFor(spec: ModelSourceSpec, backend: BackendConfig): Promise<ModelSource> {
  if (spec.kind !== "gcs") return createModelSource(spec);
  const { createGcsModelSource } = await import("@imagen/backend-gcp/model-source");
  const storage = backend.kind === "gcp" ? backend.gcp.emulators.storage : undefined;
  return createModelSource(spec, { gcs: (gcs) => createGcsModelSource({ ...gcs, apiEndpoint: storage }) });
}
