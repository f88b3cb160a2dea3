import { stat, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { COMIC_STYLES, OP_NAMES, UPSCALE_QUALITIES } from "@imagen/core";
import { sha256Hex } from "@imagen/testing/onnx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_MODELS_DIR, createTinyModelDir } from "../test/model-fixtures.js";
import { createModelRegistry, loadManifest, parseManifest, type ModelManifest } from "@imagen/catalogue";

describe("loadManifest", () => {
  it("loads and validates the repo's models/manifest.json", async () => {
    const manifest = await loadManifest();
    const upscale = manifest.models.find((m) => m.id === "realesr-general-x4v3");
    expect(upscale).toMatchObject({
      op: "upscale",
      default: true,
      bytes: 4_866_528,
      contract: { scale: 4, range: [0, 1] },
    });
    for (const op of OP_NAMES) {
      expect(manifest.models.filter((m) => m.op === op && m.default && m.role === undefined)).toHaveLength(1);
    }
  });

  it("allows one default per op and role, and refuses two", async () => {
    const manifest = await loadManifest();
    const sci = manifest.models.find((m) => m.id === "sci-easy")!;
    expect(() => parseManifest({ models: [...manifest.models, { ...sci, id: "sci-2", default: true }] })).toThrow(
      /at most one default model for enhance but found 2/,
    );
    const denoiser = manifest.models.find((m) => m.role === "denoise")!;
    expect(() => parseManifest({ models: [...manifest.models, { ...denoiser, id: "dn-2" }] })).toThrow(
      /at most one default denoise model for enhance/,
    );
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
    expect(registry.defaultFor("enhance", "denoise").id).toBe("tiny-denoise");
  });

  it("tells why a model cannot be used, without downloading it", async () => {
    const registry = createModelRegistry({ manifest: fixture.manifest, modelDir: fixture.dir });
    expect(await registry.problem("tiny-up-x4")).toBeNull();
    const elsewhere = createModelRegistry({ manifest: fixture.manifest, modelDir: path.join(fixture.dir, "none") });
    expect(await elsewhere.problem("tiny-up-x4")).toBe(
      "model tiny-up-x4 is missing: no upscale/tiny-up-x4.onnx in the model directory",
    );
    const withUrl = {
      models: fixture.manifest.models.map((m) => ({ ...m, download: "https://example.invalid/x.onnx" })),
    };
    const downloadable = createModelRegistry({ manifest: withUrl, modelDir: path.join(fixture.dir, "none") });
    expect(await downloadable.problem("tiny-up-x4")).toBeNull();
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
    // background-removal's defaults are its main model and its portrait helper.
    const problems = await registry.check(["upscale", "background-removal"]);
    expect(problems).toHaveLength(3);
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

describe("the repo manifest against the models in the clone", () => {
  it("every catalogue model is in the clone with a matching sha256 and size, and every op's defaults resolve", async () => {
    const manifest = await loadManifest();
    const registry = createModelRegistry({ manifest, modelDir: REPO_MODELS_DIR });
    for (const model of manifest.models) {
      const file = await registry.resolve(model.id);
      expect((await stat(file)).size, model.id).toBe(model.bytes);
    }
    expect(await registry.check(OP_NAMES)).toEqual([]);
  });

  it("every model choice of the op options (upscale quality, comic style) has a model, and every such model a choice", async () => {
    const manifest = await loadManifest();
    const choices = manifest.models.flatMap((m) => (m.choice ? [`${m.op} ${m.choice.option}=${m.choice.value}`] : []));
    const offered = [
      ...UPSCALE_QUALITIES.map((q) => `upscale quality=${q}`),
      ...COMIC_STYLES.map((s) => `comic style=${s}`),
    ];
    expect([...choices].sort()).toEqual([...offered].sort());
  });
});
