import { writeFile } from "node:fs/promises";
import * as path from "node:path";
import { sha256Hex } from "@imagen/testing/onnx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HAS_SHARED_MODELS, SHARED_MODELS_DIR, createTinyModelDir } from "../test/model-fixtures.js";
import { createModelRegistry, loadManifest, parseManifest, type ModelManifest } from "./models.js";

describe("loadManifest", () => {
  it("loads and validates the repo's models/manifest.json", async () => {
    const manifest = await loadManifest();
    const upscale = manifest.models.find((m) => m.id === "realesr-animevideov3-x4");
    expect(upscale).toMatchObject({
      op: "upscale",
      default: true,
      bytes: 2_492_901,
      contract: { scale: 4, range: [0, 1] },
    });
    for (const op of ["upscale", "enhance", "comic", "background-removal"] as const) {
      expect(manifest.models.filter((m) => m.op === op && m.default)).toHaveLength(1);
    }
  });

  it("rejects a manifest that breaks the schema, naming where", () => {
    expect(() => parseManifest({ models: [{ id: "x" }] })).toThrow(/Invalid model manifest at \/models\/0/);
  });
});

describe("createModelRegistry", () => {
  let fixture: Awaited<ReturnType<typeof createTinyModelDir>>;
  beforeAll(async () => {
    fixture = await createTinyModelDir();
  });
  afterAll(() => fixture.cleanup());

  it("lists, gets and picks defaults per op", () => {
    const registry = createModelRegistry({ manifest: fixture.manifest, modelDir: fixture.dir });
    expect(registry.list("upscale").map((m) => m.id)).toEqual(["tiny-up-x4", "tiny-up-invert"]);
    expect(registry.defaultFor("enhance").id).toBe("tiny-enhance");
    expect(() => registry.get("nope")).toThrow(/Expected a model id from the catalogue/);
    expect(registry.defaultFor("background-removal").id).toBe("tiny-mask");
    const models = fixture.manifest.models.filter((m) => m.op !== "background-removal");
    const without = createModelRegistry({ manifest: { models }, modelDir: fixture.dir });
    expect(() => without.defaultFor("background-removal")).toThrow(/No default model/);
  });

  it("resolves a model to its absolute, verified path", async () => {
    const registry = createModelRegistry({ manifest: fixture.manifest, modelDir: fixture.dir });
    expect(await registry.resolve("tiny-up-x4")).toBe(path.join(fixture.dir, "upscale/tiny-up-x4.onnx"));
    expect(await registry.check(["upscale", "enhance", "comic"])).toEqual([]);
  });

  it("names the expected path and IMAGEN_MODEL_DIR when a file is missing", async () => {
    const registry = createModelRegistry({ manifest: fixture.manifest, modelDir: path.join(fixture.dir, "elsewhere") });
    const expected = path.join(fixture.dir, "elsewhere/upscale/tiny-up-x4.onnx");
    const err = await registry.resolve("tiny-up-x4").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MODEL_UNAVAILABLE" });
    expect((err as Error).message).toMatch(new RegExp(`${expected}.*IMAGEN_MODEL_DIR.*upscale/tiny-up-x4\\.onnx`));
    const problems = await registry.check(["upscale", "background-removal"]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain(expected);
  });

  it("refuses a file whose sha256 differs, naming both hashes", async () => {
    const bogus = "bogus model bytes";
    await writeFile(path.join(fixture.dir, "bogus.onnx"), bogus);
    const first = fixture.manifest.models[0]!;
    const manifest: ModelManifest = { models: [{ ...first, file: "bogus.onnx" }] };
    const registry = createModelRegistry({ manifest, modelDir: fixture.dir });
    const actual = sha256Hex(Buffer.from(bogus));
    const err = await registry.resolve(first.id).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MODEL_UNAVAILABLE" });
    expect((err as Error).message).toMatch(new RegExp(`bogus\\.onnx.*${first.sha256}.*${actual}`));
  });
});

describe.skipIf(!HAS_SHARED_MODELS)("the repo manifest against the shared real models", () => {
  it("every catalogue model resolves with a matching sha256", async () => {
    const manifest = await loadManifest();
    const registry = createModelRegistry({ manifest, modelDir: SHARED_MODELS_DIR });
    for (const model of manifest.models) await registry.resolve(model.id);
    expect(await registry.check(["upscale", "enhance", "comic", "background-removal"])).toEqual([]);
  });
});
