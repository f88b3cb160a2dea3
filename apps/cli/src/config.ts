import * as path from "node:path";
import { EnvReader, readImageLimits, type ImageLimits, type ModelConfig } from "@imagen/core";
import { DEFAULT_MANIFEST_PATH } from "@imagen/catalogue";

/** What `imagen` reads from its environment; flags override the API and model settings per run. */
export interface CliConfig {
  /** IMAGEN_API_URL: where `--api` points by default; unset, files are processed in this process. */
  apiUrl: string | undefined;
  /** IMAGEN_API_KEY: the Bearer secret sent to the API. */
  apiKey: string | undefined;
  models: ModelConfig;
  limits: ImageLimits;
  /** NO_COLOR (any value) turns colour off on a terminal; off a terminal there is never any. */
  color: boolean;
}

/** The repo's models/ folder, beside the catalogue: `npx imagen` may run from any folder of the checkout. */
export const REPO_MODEL_DIR = path.dirname(DEFAULT_MANIFEST_PATH);

/**
 * Parses the CLI's environment once, at start-up; relative paths resolve from `cwd`. Throws
 * `ConfigError` naming each bad variable.
 */
export function loadCliConfig(env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): CliConfig {
  const reader = new EnvReader(env);
  const modelDir = reader.optionalString("IMAGEN_MODEL_DIR");
  const manifestPath = reader.optionalString("IMAGEN_MODEL_MANIFEST");
  const config: CliConfig = {
    apiUrl: reader.optionalString("IMAGEN_API_URL"),
    apiKey: reader.optionalString("IMAGEN_API_KEY"),
    models: {
      modelDir: modelDir === undefined ? REPO_MODEL_DIR : path.resolve(cwd, modelDir),
      manifestPath: manifestPath === undefined ? undefined : path.resolve(cwd, manifestPath),
      executionProvider: reader.oneOf("IMAGEN_EXECUTION_PROVIDER", ["cpu", "cuda"] as const, "cpu"),
      cudaDeviceId: reader.int("IMAGEN_CUDA_DEVICE_ID", 0, { min: 0 }),
    },
    limits: readImageLimits(reader),
    color: reader.optionalString("NO_COLOR") === undefined,
  };
  reader.done();
  return Object.freeze(config);
}
