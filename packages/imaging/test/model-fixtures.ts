import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { OpName } from "@imagen/core";
import { tinyEnhanceModel, tinyMaskModel, tinyUpscaleModel, writeTinyModel } from "@imagen/testing/onnx";
import type { RunContext, TileOverrides } from "../src/image-to-image.js";
import {
  createModelRegistry,
  loadManifest,
  type ModelContract,
  type ModelEntry,
  type ModelManifest,
  type ModelRegistry,
} from "../src/models.js";
import { createPipelines, type Pipelines } from "../src/pipelines.js";
import { createSessionCache, type SessionCache } from "../src/sessions.js";

/** The repo root, from this file's location (packages/imaging/test). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The shared real models and photos, present on developer machines and this CI, absent elsewhere. */
export const SHARED_MODELS_DIR = path.resolve(REPO_ROOT, "../shared/models");
export const SHARED_IMAGES_DIR = path.resolve(REPO_ROOT, "../shared/images");
export const HAS_SHARED_MODELS = existsSync(path.join(SHARED_MODELS_DIR, "upscale/realesr-animevideov3-x4.onnx"));

/** A run context for pipelines that is never canceled and ignores progress. */
export const idle: RunContext = { signal: new AbortController().signal, onProgress: () => undefined };

/** Pipelines over the real shared models on CPU, with limits that fit the shared photos; close `sessions` after. */
export async function openRealPipelines(): Promise<{
  registry: ModelRegistry;
  sessions: SessionCache;
  pipelines: Pipelines;
}> {
  const registry = createModelRegistry({ manifest: await loadManifest(), modelDir: SHARED_MODELS_DIR });
  const sessions = createSessionCache({ executionProvider: "cpu" });
  const pipelines = createPipelines({
    registry,
    sessions,
    limits: { maxInputPixels: 40_000_000, maxOutputPixels: 100_000_000 },
  });
  return { registry, sessions, pipelines };
}

const BASE_CONTRACT: ModelContract = {
  input: "input",
  output: "output",
  layout: "NCHW",
  channels: "RGB",
  range: [0, 1],
  scale: 1,
  multiple: 1,
  tileSize: 256,
  tileOverlap: 16,
  clamp: true,
};

interface TinySpec {
  id: string;
  op: OpName;
  isDefault: boolean;
  bytes: Uint8Array;
  contract: Partial<ModelContract>;
}

/** The tiny models the imaging tests use, by id. */
export const TINY_MODELS: readonly TinySpec[] = [
  {
    id: "tiny-up-x4",
    op: "upscale",
    isDefault: true,
    bytes: tinyUpscaleModel({ scale: 4, mode: "linear" }),
    contract: { scale: 4 },
  },
  {
    id: "tiny-up-invert",
    op: "upscale",
    isDefault: false,
    bytes: tinyUpscaleModel({ scale: 4, colour: "invert" }),
    contract: { scale: 4 },
  },
  { id: "tiny-enhance", op: "enhance", isDefault: true, bytes: tinyEnhanceModel({ gain: 1.5 }), contract: {} },
  {
    id: "tiny-comic",
    op: "comic",
    isDefault: true,
    bytes: tinyEnhanceModel({ gain: 0.5, rangeMax: 255, multiple: 4 }),
    contract: { range: [0, 255], multiple: 4 },
  },
  {
    id: "tiny-mask",
    op: "background-removal",
    isDefault: true,
    bytes: tinyMaskModel({ multiple: 32 }),
    contract: { output: "mask", multiple: 32, tileSize: 320, tileOverlap: 0 },
  },
];

/** A temp model dir holding every tiny model plus the matching manifest. */
export async function createTinyModelDir(): Promise<{
  dir: string;
  manifest: ModelManifest;
  cleanup(): Promise<void>;
}> {
  const dir = await mkdtemp(path.join(tmpdir(), "imaging-models-"));
  const models: ModelEntry[] = [];
  for (const spec of TINY_MODELS) {
    const written = await writeTinyModel(dir, `${spec.op}/${spec.id}.onnx`, spec.bytes);
    models.push({
      id: spec.id,
      op: spec.op,
      default: spec.isDefault,
      file: written.file,
      sha256: written.sha256,
      bytes: written.bytes,
      source: { url: "https://example.invalid/tiny", licence: "Apache-2.0" },
      contract: { ...BASE_CONTRACT, ...spec.contract },
    });
  }
  return { dir, manifest: { models }, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Pipelines over {@link createTinyModelDir}'s models, with small test limits; `close` removes it all. */
export async function createTinyPipelines(options: { tiles?: TileOverrides } = {}): Promise<{
  pipelines: Pipelines;
  manifest: ModelManifest;
  close(): Promise<void>;
}> {
  const fixture = await createTinyModelDir();
  const sessions = createSessionCache({ executionProvider: "cpu", intraOpNumThreads: 1 });
  const registry = createModelRegistry({ manifest: fixture.manifest, modelDir: fixture.dir });
  const pipelines = createPipelines({
    registry,
    sessions,
    limits: { maxInputPixels: 1_000_000, maxOutputPixels: 2_000_000 },
    ...options,
  });
  return {
    pipelines,
    manifest: fixture.manifest,
    async close() {
      await sessions.close();
      await fixture.cleanup();
    },
  };
}
