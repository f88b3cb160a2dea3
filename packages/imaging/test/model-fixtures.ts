import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { OpName } from "@imagen/core";
import {
  tinyDenoiseModel,
  tinyEnhanceModel,
  tinyMaskModel,
  tinyUpscaleModel,
  writeTinyModel,
} from "@imagen/testing/onnx";
import type { BackgroundContext } from "../src/background-removal.js";
import type { RunContext, TileOverrides } from "../src/image-to-image.js";
import {
  createModelRegistry,
  loadManifest,
  type ModelContract,
  type ModelEntry,
  type ModelManifest,
  type ModelRegistry,
} from "@imagen/catalogue";
import { createPipelines, type Pipelines } from "../src/pipelines.js";
import { createSessionCache, type SessionCache } from "../src/sessions.js";

/** The repo root, from this file's location (packages/imaging/test). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The real models the repo ships (models/), the ones the service uses. */
export const REPO_MODELS_DIR = path.join(REPO_ROOT, "models");
/** The licence-clean photos the tests own (see test/images/README.md). */
export const TEST_IMAGES_DIR = fileURLToPath(new URL("./images/", import.meta.url));

/** A run context for pipelines that is never canceled and ignores progress. */
export const idle: RunContext = { signal: new AbortController().signal, onProgress: () => undefined };

/** `idle` with sessions for built graphs (background removal's guided filter), made on first use. */
export const idleWithGraphs: BackgroundContext = {
  ...idle,
  graphs: createSessionCache({ executionProvider: "cpu", intraOpNumThreads: 1 }),
};

/** Pipelines over the repo's real models on CPU, with limits that fit the test photos; close `sessions` after. */
export async function openRealPipelines(): Promise<{
  registry: ModelRegistry;
  sessions: SessionCache;
  pipelines: Pipelines;
}> {
  const registry = createModelRegistry({ manifest: await loadManifest(), modelDir: REPO_MODELS_DIR });
  const sessions = createSessionCache({ executionProvider: "cpu" });
  const pipelines = createPipelines({
    registry,
    sessions,
    limits: { maxInputPixels: 40_000_000, maxOutputPixels: 100_000_000 },
  });
  return { registry, sessions, pipelines };
}

/** A model contract for tests: the fields every contract has, with `overrides` on top. */
export function testContract(overrides: Partial<ModelContract> = {}): ModelContract {
  return { ...BASE_CONTRACT, ...overrides };
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
  role?: string;
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
    id: "tiny-denoise",
    op: "enhance",
    role: "denoise",
    isDefault: true,
    bytes: tinyDenoiseModel(),
    contract: { multiple: 2, noiseInput: "sigma" },
  },
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
  {
    id: "tiny-portrait",
    op: "background-removal",
    role: "portrait",
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
      label: spec.id,
      ...(spec.role === undefined ? {} : { role: spec.role }),
      default: spec.isDefault,
      file: written.file,
      sha256: written.sha256,
      bytes: written.bytes,
      source: { url: "https://example.invalid/tiny", licence: "Apache-2.0" },
      contract: testContract(spec.contract),
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
