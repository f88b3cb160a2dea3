import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import {
  PermanentJobError,
  expectedOutputSize,
  type BackgroundRemovalOptions,
  type EnhanceOptions,
  type OpName,
  type OpOptionsMap,
  type OutputFormat,
} from "@imagen/core";
import { removeBackground } from "./background-removal.js";
import { decodeImage } from "./decode.js";
import { defaultOutputFormat, encodeImage } from "./encode.js";
import { transformImage, type RunContext, type StageTimes, type TileOverrides } from "./image-to-image.js";
import type { ModelEntry, ModelRegistry } from "./models.js";
import { assertPixelLimit } from "./pixel-limit.js";
import { probeImage } from "./probe.js";
import type { SessionCache } from "./sessions.js";

/** Size limits, each configurable; output is checked from the header before decoding. */
export interface PipelineLimits {
  maxInputPixels: number;
  maxOutputPixels: number;
}

export interface PipelineDeps {
  registry: ModelRegistry;
  sessions: SessionCache;
  limits: PipelineLimits;
  /** Tile size/overlap overrides for every model (tests use small tiles); default: each contract's. */
  tiles?: TileOverrides;
}

/** An encoded result with its size and where the time went. */
export interface PipelineResult {
  data: Buffer;
  width: number;
  height: number;
  format: OutputFormat;
  contentType: string;
  /**
   * Stage times in ms: probe+decode, pre (resize, tensor fill), infer (inside `session.run` only),
   * post (tensor read-out, resize, blend, mask refinement, compositing), encode.
   */
  timings: { decodeMs: number; preMs: number; inferMs: number; postMs: number; encodeMs: number };
}

export interface Pipelines {
  /**
   * Runs `op` on the encoded `input`; options are already validated (core's `parseOptions`). Any
   * input is converted to 8-bit sRGB for the model (16-bit, greyscale, CMYK, palette); an alpha
   * channel is kept (upscale scales it, enhance and comic keep it, background-removal multiplies
   * it into the mask). An animated input (GIF, animated WebP) is processed from its first frame.
   */
  run<Op extends OpName>(op: Op, input: Buffer, options: OpOptionsMap[Op], ctx: RunContext): Promise<PipelineResult>;
  /** Whether this build can run `op`. */
  supports(op: OpName): boolean;
  /** Resolves and loads each op's default model and runs one tiny inference. */
  warmUp(ops: readonly OpName[]): Promise<void>;
}

// upscale, enhance and comic are tiled image→image; background-removal has its own mask path.
const SUPPORTED_OPS: readonly OpName[] = ["upscale", "enhance", "comic", "background-removal"];

/**
 * Creates the op pipelines: probe → decode → model → encode. Image→image ops run the model in tiles,
 * then resize/blend and re-attach the alpha; background-removal predicts a mask once on a reduced
 * copy and refines it to full size (`removeBackground`).
 * Permanent input problems raise `PermanentJobError`; a missing model raises `MODEL_UNAVAILABLE`.
 */
export function createPipelines(deps: PipelineDeps): Pipelines {
  const { registry, sessions, limits } = deps;

  const sessionFor = async (entry: ModelEntry): Promise<ort.InferenceSession> =>
    sessions.get(await registry.resolve(entry.id));

  return {
    supports: (op) => SUPPORTED_OPS.includes(op),
    async run(op, input, options, ctx) {
      if (!SUPPORTED_OPS.includes(op)) {
        throw new PermanentJobError("UNKNOWN_OP", `Expected one of ${SUPPORTED_OPS.join(", ")} but received op ${op}`);
      }
      ctx.signal.throwIfAborted();
      const started = performance.now();
      const probed = await probeImage(input, limits);
      const target = expectedOutputSize(op, options, probed);
      assertPixelLimit(target, limits.maxOutputPixels, { code: "OUTPUT_TOO_LARGE", what: "an output" });
      const decoded = await decodeImage(input, limits);
      const decodedAt = performance.now();

      const entry = pickModel(registry, op, options.model);
      // Model loading (once per process, normally at warm-up) is logged by the session cache, not timed here.
      const session = await sessionFor(entry);
      const times: StageTimes = { preMs: 0, inferMs: 0, postMs: 0 };
      const staged: RunContext = { signal: ctx.signal, onProgress: (f) => ctx.onProgress(f), times };
      const image =
        op === "background-removal"
          ? await removeBackground(session, entry.contract, decoded, options as BackgroundRemovalOptions, staged)
          : await transformImage(session, entry.contract, decoded, staged, {
              target,
              strength: op === "enhance" ? (options as EnhanceOptions).strength : 1,
              tiles: deps.tiles,
            });
      const encodeStart = performance.now();
      const format = options.format ?? defaultOutputFormat(image.alpha !== null, probed.format);
      const encoded = await encodeImage(image, { format, quality: options.quality });
      return {
        ...encoded,
        ...target,
        timings: {
          decodeMs: Math.round(decodedAt - started),
          preMs: Math.round(times.preMs),
          inferMs: Math.round(times.inferMs),
          postMs: Math.round(times.postMs),
          encodeMs: Math.round(performance.now() - encodeStart),
        },
      };
    },
    async warmUp(ops) {
      for (const op of ops) {
        if (!SUPPORTED_OPS.includes(op)) throw new Error(`Cannot warm up op ${op}: this build does not support it`);
        const entry = registry.defaultFor(op);
        await warmUpSession(await sessionFor(entry), entry);
      }
    },
  };
}

function pickModel(registry: ModelRegistry, op: OpName, id: string | undefined): ModelEntry {
  if (id === undefined) return registry.defaultFor(op);
  const entry = registry.list(op).find((m) => m.id === id);
  if (!entry) {
    const known = registry
      .list(op)
      .map((m) => m.id)
      .join(", ");
    throw new PermanentJobError("INVALID_OPTIONS", `Expected a model for ${op} (${known}) but received ${id}`);
  }
  return entry;
}

async function warmUpSession(session: ort.InferenceSession, entry: ModelEntry): Promise<void> {
  const { multiple, input, output } = entry.contract;
  const side = Math.ceil(32 / multiple) * multiple;
  const tensor = new ort.Tensor("float32", new Float32Array(3 * side * side), [1, 3, side, side]);
  const result = await session.run({ [input]: tensor });
  if (!result[output]) throw new Error(`Warm-up of model ${entry.id} produced no output named ${output}`);
  result[output].dispose();
}
