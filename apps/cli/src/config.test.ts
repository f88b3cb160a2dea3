import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadCliConfig, REPO_MODEL_DIR } from "./config.js";

describe("loadCliConfig", () => {
  it("runs in this process on the repo's models by default, from any folder", () => {
    const config = loadCliConfig({}, "/somewhere/else");
    expect(config.apiUrl).toBeUndefined();
    expect(config.models).toMatchObject({
      modelDir: REPO_MODEL_DIR,
      manifestPath: undefined,
      executionProvider: "cpu",
    });
    expect(path.basename(REPO_MODEL_DIR)).toBe("models");
    expect(config.color).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads the API, the key and the worker's model variables, relative paths from the current folder", () => {
    const config = loadCliConfig(
      {
        IMAGEN_API_URL: "http://127.0.0.1:8080",
        IMAGEN_API_KEY: "secret",
        IMAGEN_MODEL_DIR: "m",
        IMAGEN_MODEL_MANIFEST: "m/manifest.json",
        NO_COLOR: "1",
      },
      "/work",
    );
    expect(config).toMatchObject({ apiUrl: "http://127.0.0.1:8080", apiKey: "secret", color: false });
    expect(config.models).toMatchObject({ modelDir: "/work/m", manifestPath: "/work/m/manifest.json" });
  });

  it("names every bad variable", () => {
    expect(() => loadCliConfig({ IMAGEN_EXECUTION_PROVIDER: "tpu", MAX_INPUT_PIXELS: "-1" })).toThrow(
      /IMAGEN_EXECUTION_PROVIDER:[\s\S]*MAX_INPUT_PIXELS:|MAX_INPUT_PIXELS:[\s\S]*IMAGEN_EXECUTION_PROVIDER:/,
    );
  });
});
