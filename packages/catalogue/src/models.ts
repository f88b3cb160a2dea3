import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { AppError, OP_NAMES, ValidationError, type Logger, type OpName } from "@imagen/core";
import { downloadModel, type DownloadProgress } from "./model-download.js";
import { createUrlModelSource, type ModelSource } from "./model-source.js";

/** How a model wants its tensors: names, layout, value range, scale and tiling. */
export const ModelContract = Type.Object({
  input: Type.String({ minLength: 1 }),
  output: Type.String({ minLength: 1 }),
  layout: Type.Literal("NCHW"),
  channels: Type.Literal("RGB"),
  range: Type.Tuple([Type.Number(), Type.Number()]),
  scale: Type.Integer({ minimum: 1 }),
  multiple: Type.Integer({ minimum: 1 }),
  tileSize: Type.Integer({ minimum: 1 }),
  tileOverlap: Type.Integer({ minimum: 0 }),
  /**
   * For models whose output depends on whole-image statistics (instance norm): inputs are resized
   * so their long side is at most this, run as one tile, and the output resized back.
   */
  maxSide: Type.Optional(Type.Integer({ minimum: 1 })),
  clamp: Type.Boolean(),
  /**
   * Per-channel normalisation after mapping to `range`: `(x − mean) / std`; with `divideByMax`, the
   * image is first divided by its own maximum (U²-Net's preprocessing).
   */
  normalize: Type.Optional(
    Type.Object({
      mean: Type.Tuple([Type.Number(), Type.Number(), Type.Number()]),
      std: Type.Tuple([Type.Number(), Type.Number(), Type.Number()]),
      divideByMax: Type.Optional(Type.Boolean()),
    }),
  ),
  /** A model with a fixed input size (U²-Netp: 320×320); the image is resized to it. */
  inputSize: Type.Optional(Type.Object({ width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) })),
  /** Mask models whose output is not a probability: `minmax` stretches it to [0,1] per image. */
  outputScaling: Type.Optional(Type.Literal("minmax")),
  /**
   * An unsharp mask after the model (sharp's `sharpen`: Gaussian `sigma` in output pixels, `flat`
   * and `jagged` the amounts for flat and edge areas), for upscalers that smooth micro-contrast.
   */
  sharpen: Type.Optional(
    Type.Object({
      sigma: Type.Number({ minimum: 0.3, maximum: 10 }),
      flat: Type.Number({ minimum: 0, maximum: 10 }),
      jagged: Type.Number({ minimum: 0, maximum: 10 }),
    }),
  ),
  /**
   * Pixels of edge replication around the image before the model sees it, cropped after: for models
   * whose convolutions zero-pad, which would otherwise tint the image's outer rows (SCI).
   */
  borderPad: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  /** Name of a second input, float32 [N,1,1,1], the noise level σ/255 to remove (FFDNet). */
  noiseInput: Type.Optional(Type.String({ minLength: 1 })),
});
export type ModelContract = Static<typeof ModelContract>;

export const ModelEntry = Type.Object({
  id: Type.String({ pattern: "^[a-z0-9][a-z0-9._-]*$" }),
  op: Type.Union(OP_NAMES.map((o) => Type.Literal(o))),
  /** What it is good for, in a user's words ("Photos, balanced"); shown by /v1/ops and the README. */
  label: Type.String({ minLength: 1 }),
  /**
   * A helper the op runs beside its main model (enhance: `denoise`; background-removal:
   * `portrait`); absent for main models. `default` is per op and role.
   */
  role: Type.Optional(Type.String({ pattern: "^[a-z][a-z-]*$" })),
  /** The option value that selects this model, e.g. upscale `quality: "best"` or comic `style: "ink"`. */
  choice: Type.Optional(Type.Object({ option: Type.String({ minLength: 1 }), value: Type.String({ minLength: 1 }) })),
  default: Type.Boolean(),
  file: Type.String({ minLength: 1 }),
  sha256: Type.String({ pattern: "^[0-9a-f]{64}$" }),
  bytes: Type.Integer({ minimum: 1 }),
  /** Where the original weights were published (often not ONNX: not a download for this file). */
  source: Type.Object({ url: Type.String({ pattern: "^https://" }), licence: Type.String({ minLength: 1 }) }),
  /** A URL serving exactly this ONNX file, used when no IMAGEN_MODEL_SOURCE is set. */
  download: Type.Optional(Type.String({ pattern: "^https?://" })),
  contract: ModelContract,
});
export type ModelEntry = Static<typeof ModelEntry>;

export const ModelManifest = Type.Object({ models: Type.Array(ModelEntry) });
export type ModelManifest = Static<typeof ModelManifest>;

/** The repo's catalogue; the same relative hop works from `src/` and from `dist/`. */
export const DEFAULT_MANIFEST_PATH = fileURLToPath(new URL("../../../models/manifest.json", import.meta.url));

/**
 * Reads and validates a model manifest (default: the repo's `models/manifest.json`). Throws with the
 * first schema problem, or when ids repeat or an op has more than one default.
 */
export async function loadManifest(manifestPath: string = DEFAULT_MANIFEST_PATH): Promise<ModelManifest> {
  const raw: unknown = JSON.parse(await readFile(manifestPath, "utf8"));
  return parseManifest(raw, manifestPath);
}

/** Validates an already-parsed manifest; `origin` names it in error messages. */
export function parseManifest(raw: unknown, origin = "model manifest"): ModelManifest {
  const error = Value.Errors(ModelManifest, raw).First();
  if (error) {
    throw new Error(
      `Invalid ${origin} at ${error.path || "/"}: ${error.message}, received ${JSON.stringify(error.value)}`,
    );
  }
  const manifest = raw as ModelManifest;
  const ids = new Set<string>();
  for (const model of manifest.models) {
    if (ids.has(model.id)) throw new Error(`Invalid ${origin}: model id ${model.id} appears twice`);
    ids.add(model.id);
  }
  for (const op of OP_NAMES) {
    for (const role of new Set(manifest.models.filter((m) => m.op === op).map((m) => m.role))) {
      const defaults = manifest.models.filter((m) => m.op === op && m.role === role && m.default).length;
      const what = role === undefined ? `model for ${op}` : `${role} model for ${op}`;
      if (defaults > 1)
        throw new Error(`Invalid ${origin}: expected at most one default ${what} but found ${defaults}`);
    }
  }
  return manifest;
}

/** Looks up models and turns them into verified file paths. */
export interface ModelRegistry {
  /** The catalogue entries, optionally only those of one op. */
  list(op?: OpName): ModelEntry[];
  /** The entry with this id; `INVALID_OPTIONS` when the catalogue has none. */
  get(id: string): ModelEntry;
  /** The op's default main model, or its default helper of `role`; `MODEL_UNAVAILABLE` when it has none. */
  defaultFor(op: OpName, role?: string): ModelEntry;
  /** Absolute path of the model file, its sha256 checked once per process. */
  resolve(id: string): Promise<string>;
  /**
   * Why the model cannot be used (file missing and nowhere to download it from, wrong checksum),
   * in words for a client (the file relative to the model directory), or `null` when it can.
   * Never downloads: a missing file with a download source counts as usable.
   */
  problem(id: string): Promise<string | null>;
  /** Problems with the default models of `ops`, helpers included (missing file, bad checksum); empty when all resolve. */
  check(ops: readonly OpName[]): Promise<string[]>;
}

/** Where the registry finds model files and, when one is missing, where it may download it from. */
export interface ModelRegistryOptions {
  manifest: ModelManifest;
  /** IMAGEN_MODEL_DIR: files are looked up, and downloads cached, at `<modelDir>/<entry.file>`. */
  modelDir: string;
  /** IMAGEN_MODEL_SOURCE; when absent, an entry's own `download` URL is used where it has one. */
  source?: ModelSource;
  /** Called as bytes of a download arrive (the fetch CLI draws its progress bar from it). */
  onDownloadProgress?: (progress: DownloadProgress) => void;
  log?: Logger;
}

/**
 * A registry over `manifest` whose files live under `modelDir` (IMAGEN_MODEL_DIR). A missing file
 * is downloaded from `source` (or the entry's `download` URL), verified and cached there first.
 * Missing files that cannot be fetched and checksum mismatches raise `MODEL_UNAVAILABLE` with a
 * message naming the file and the fix.
 */
export function createModelRegistry(options: ModelRegistryOptions): ModelRegistry {
  const modelDir = path.resolve(options.modelDir);
  const verified = new Map<string, Promise<string>>();
  const { models } = options.manifest;

  const get = (id: string): ModelEntry => findModel(models, id);
  const defaultFor = (op: OpName, role?: string): ModelEntry => {
    const entry = models.find((m) => m.op === op && m.role === role && m.default);
    const what = role === undefined ? "model" : `${role} model`;
    if (!entry) throw new AppError("MODEL_UNAVAILABLE", `No default ${what} for op ${op} in the catalogue`);
    return entry;
  };
  const resolve = (id: string): Promise<string> => {
    const entry = get(id);
    let pending = verified.get(entry.id);
    if (!pending) {
      // One promise per id: concurrent resolves of a missing file share a single download.
      pending = locateFile(entry, modelDir, options);
      // A failed check is not cached, so a file copied in later is picked up by the next call.
      pending.catch(() => verified.delete(entry.id));
      verified.set(entry.id, pending);
    }
    return pending;
  };

  return {
    list: (op) => (op ? models.filter((m) => m.op === op) : [...models]),
    get,
    defaultFor,
    resolve,
    problem: async (id) => {
      const entry = get(id);
      const file = path.resolve(modelDir, entry.file);
      const present = await exists(file);
      if (!present && (options.source ?? entry.download)) return null;
      if (!present) return `model ${entry.id} is missing: no ${entry.file} in the model directory`;
      return resolve(id).then(
        () => null,
        () => `model ${entry.id} cannot be used: ${entry.file} does not match the catalogue's sha256`,
      );
    },
    check: async (ops) => {
      // Every default of the op: its main model and the helpers it runs beside it.
      const wanted = models.filter((m) => m.default && ops.includes(m.op));
      const missingDefault = ops.filter((op) => !wanted.some((m) => m.op === op && m.role === undefined));
      const outcomes = await Promise.allSettled(wanted.map((m) => resolve(m.id)));
      return [
        ...missingDefault.map((op) => `No default model for op ${op} in the catalogue`),
        ...outcomes.flatMap((o) => (o.status === "rejected" ? [errorMessage(o.reason)] : [])),
      ];
    },
  };
}

function findModel(models: readonly ModelEntry[], id: string): ModelEntry {
  const entry = models.find((m) => m.id === id);
  if (!entry) {
    const known = models.map((m) => m.id).join(", ");
    throw new ValidationError(`Expected a model id from the catalogue (${known}) but received ${id}`, {
      code: "INVALID_OPTIONS",
    });
  }
  return entry;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function locateFile(entry: ModelEntry, modelDir: string, options: ModelRegistryOptions): Promise<string> {
  const file = path.resolve(modelDir, entry.file);
  if (!file.startsWith(modelDir + path.sep)) {
    throw new AppError("MODEL_UNAVAILABLE", `Model ${entry.id} file ${entry.file} lies outside ${modelDir}`);
  }
  const source = options.source ?? (entry.download ? createUrlModelSource(entry.download) : null);
  if (source && !(await exists(file))) {
    const started = performance.now();
    await downloadModel(entry, file, source, options.onDownloadProgress);
    const ms = Math.round(performance.now() - started);
    options.log?.info({ model: entry.id, file, from: source.describe(entry.file), ms }, "model downloaded");
    return file;
  }
  return verifyFile(entry, file);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function verifyFile(entry: ModelEntry, file: string): Promise<string> {
  let actual: string;
  try {
    actual = await sha256File(file);
  } catch (cause) {
    throw new AppError(
      "MODEL_UNAVAILABLE",
      `Model ${entry.id} not found: expected the file ${file}. Set IMAGEN_MODEL_DIR to a directory holding ` +
        `${entry.file} (sha256 ${entry.sha256}, ${entry.bytes} bytes; original weights: ${entry.source.url}), ` +
        `or set IMAGEN_MODEL_SOURCE to a place to download it from`,
      { cause },
    );
  }
  if (actual !== entry.sha256) {
    throw new AppError(
      "MODEL_UNAVAILABLE",
      `Model ${entry.id} file ${file} has the wrong checksum: expected sha256 ${entry.sha256} but found ${actual}. ` +
        `Replace it with the catalogue's file`,
    );
  }
  return file;
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("error", reject)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")));
  });
}
