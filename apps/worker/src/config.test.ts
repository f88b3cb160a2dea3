import { describe, expect, it } from "vitest";
import { loadWorkerConfig } from "./config.js";

describe("loadWorkerConfig", () => {
  it("runs every op on the local backend with safe defaults", () => {
    const config = loadWorkerConfig({});
    expect(config.ops).toEqual(["upscale", "enhance", "comic", "background-removal"]);
    expect(config.backend.kind).toBe("local");
    expect(config.concurrency).toBe(1);
    expect(config.models.executionProvider).toBe("cpu");
    expect(config.limits.maxInputPixels).toBe(40_000_000);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads the ops of a single-op deployment", () => {
    expect(loadWorkerConfig({ IMAGEN_WORKER_OPS: "upscale" }).ops).toEqual(["upscale"]);
  });

  it("names every bad variable", () => {
    let message = "";
    try {
      loadWorkerConfig({
        IMAGEN_WORKER_OPS: "upscale,sharpen",
        WORKER_CONCURRENCY: "0",
        IMAGEN_EXECUTION_PROVIDER: "tpu",
        IMAGEN_BACKEND: "redis",
      });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of ["IMAGEN_WORKER_OPS", "WORKER_CONCURRENCY", "IMAGEN_EXECUTION_PROVIDER", "IMAGEN_BACKEND"]) {
      expect(message).toContain(`${name}:`);
    }
  });
});

describe("IMAGEN_MODEL_SOURCE", () => {
  it("reads an https base or a gs:// bucket, and names the variable when it is neither", () => {
    expect(loadWorkerConfig({ IMAGEN_MODEL_SOURCE: "gs://models/v1" }).modelSource).toEqual({
      kind: "gcs",
      bucket: "models",
      prefix: "v1",
    });
    expect(loadWorkerConfig({}).modelSource).toBeUndefined();
    expect(() => loadWorkerConfig({ IMAGEN_MODEL_SOURCE: "ftp://x" })).toThrow(/IMAGEN_MODEL_SOURCE/);
  });
});
