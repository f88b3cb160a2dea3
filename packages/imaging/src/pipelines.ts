import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
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
import { decodeImage, type DecodedImage } from "./decode.js";
import { defaultOutputFormat, encodeImage, type RawImage } from "./encode.js";
import { runImageToImage, type RgbImage, type RunContext, type TileOverrides } from "./image-to-image.js";
import type { ModelContract, ModelEntry, ModelRegistry } from "./models.js";
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

export interface PipelineResult {
  data: Buffer;
  width: number;
  height: number;
  format: OutputFormat;
  contentType: string;
  timings: { decodeMs: number; inferMs: number; encodeMs: number };
}

export interface Pipelines {
  /** Runs `op` on the encoded `input`; options are already validated (core's `parseOptions`). */
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
      assertOutputLimit(target, limits.maxOutputPixels);
      const decoded = await decodeImage(input, limits);
      const decodedAt = performance.now();

      const entry = pickModel(registry, op, options.model);
      const session = await sessionFor(entry);
      const image =
        op === "background-removal"
          ? await removeBackground(session, entry.contract, decoded, options as BackgroundRemovalOptions, ctx)
          : await transformImage(session, entry.contract, decoded, ctx, {
              target,
              strength: op === "enhance" ? (options as EnhanceOptions).strength : 1,
              tiles: deps.tiles,
            });
      const inferredAt = performance.now();

      const format = options.format ?? defaultOutputFormat(image.alpha !== null, probed.format);
      const encoded = await encodeImage(image, { format, quality: options.quality });
      return {
        ...encoded,
        ...target,
        timings: {
          decodeMs: Math.round(decodedAt - started),
          inferMs: Math.round(inferredAt - decodedAt),
          encodeMs: Math.round(performance.now() - inferredAt),
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

function assertOutputLimit(size: { width: number; height: number }, maxOutputPixels: number): void {
  const pixels = size.width * size.height;
  if (pixels > maxOutputPixels) {
    throw new PermanentJobError(
      "OUTPUT_TOO_LARGE",
      `Expected an output of at most ${maxOutputPixels} pixels but this job would produce ${size.width}×${size.height} (${pixels} pixels)`,
    );
  }
}

/** The tiled image→image path: model, blend with the input by `strength`, resize, alpha. */
async function transformImage(
  session: ort.InferenceSession,
  contract: ModelContract,
  decoded: DecodedImage,
  ctx: RunContext,
  how: { target: { width: number; height: number }; strength: number; tiles: TileOverrides | undefined },
): Promise<RawImage> {
  const { target } = how;
  const modelOut = await runImageToImage(session, contract, decoded, ctx, how.tiles);
  const blended = blend(decoded, modelOut, how.strength);
  const rgb = await resizeRaw(blended, target, 3);
  const alpha = decoded.alpha
    ? await resizeRaw({ rgb: decoded.alpha, width: decoded.width, height: decoded.height }, target, 1)
    : null;
  return { rgb: rgb.rgb, alpha: alpha?.rgb ?? null, ...target };
}

/** `input + strength·(output − input)`, per byte; strength 1 returns `output` as is. */
function blend(input: RgbImage, output: RgbImage, strength: number): RgbImage {
  if (strength >= 1) return output;
  const rgb = Buffer.allocUnsafe(output.rgb.length);
  for (let i = 0; i < rgb.length; i++) {
    const a = input.rgb[i]!;
    rgb[i] = Math.round(a + strength * (output.rgb[i]! - a));
  }
  return { ...output, rgb };
}

/** Resizes raw 8-bit pixels (1 or 3 channels) with lanczos3; a no-op when the size already fits. */
async function resizeRaw(image: RgbImage, size: { width: number; height: number }, channels: 1 | 3): Promise<RgbImage> {
  if (image.width === size.width && image.height === size.height) return image;
  let pipeline = sharp(image.rgb, { raw: { width: image.width, height: image.height, channels } }).resize(
    size.width,
    size.height,
    {
      kernel: "lanczos3",
      fit: "fill",
    },
  );
  // sharp turns a resized 1-channel raw buffer into 3 channels; keep one (MODELS.md practical notes).
  if (channels === 1) pipeline = pipeline.extractChannel(0);
  const rgb = await pipeline.raw().toBuffer();
  return { rgb, ...size };
}

async function warmUpSession(session: ort.InferenceSession, entry: ModelEntry): Promise<void> {
  const { multiple, input, output } = entry.contract;
  const side = Math.ceil(32 / multiple) * multiple;
  const tensor = new ort.Tensor("float32", new Float32Array(3 * side * side), [1, 3, side, side]);
  const result = await session.run({ [input]: tensor });
  if (!result[output]) throw new Error(`Warm-up of model ${entry.id} produced no output named ${output}`);
  result[output].dispose();
}
