import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import {
  PermanentJobError,
  encoderQuality,
  expectedOutputSize,
  type Logger,
  type OpName,
  type OpOptionsMap,
  type OutputFormat,
} from "@imagen/core";
import { decodeImage } from "./decode.js";
import { defaultOutputFormat, encodeImage } from "./encode.js";
import type { RunContext, StageTimes, TileOverrides } from "./image-to-image.js";
import { chooseModels, modelsOf } from "@imagen/catalogue";
import type { ModelEntry, ModelRegistry } from "@imagen/catalogue";
import { OP_HANDLERS, type JobRef, type OpModels } from "./ops/index.js";
import { assertPixelLimit } from "@imagen/catalogue";
import { probeImage } from "@imagen/catalogue";
import type { LoadedModel, SessionCache } from "./sessions.js";
import { createTileBudget } from "./tile-budget.js";

/** Size limits, each configurable; output is checked from the header before decoding. */
export interface PipelineLimits {
  maxInputPixels: number;
  maxOutputPixels: number;
  /** See `ProbeLimits`; default MAX_HEIF_INPUT_PIXELS. */
  maxHeifPixels?: number;
  /** See `DecodeLimits`; default DECODE_TIMEOUT_S. */
  decodeTimeoutS?: number;
}

export interface PipelineDeps {
  registry: ModelRegistry;
  sessions: SessionCache;
  limits: PipelineLimits;
  /** Tile size/overlap overrides for every model (tests use small tiles); default: each contract's. */
  tiles?: TileOverrides;
  /** Cut tiles so that one model run takes at most this long (see `TileBudget`); unset: no budget. */
  maxTileMs?: number;
}

/** An encoded result with its size and where the time went. */
export interface PipelineResult {
  data: Buffer;
  width: number;
  height: number;
  format: OutputFormat;
  contentType: string;
  /** Ids of the models chosen for the job, main model first (enhance lists its denoiser even when the photo needed none). */
  models: string[];
  /**
   * Stage times in ms: probe+decode, pre (resize, tensor fill), infer (inside `session.run` only),
   * post (tensor read-out, resize, blend, mask refinement, compositing), encode.
   */
  timings: { decodeMs: number; preMs: number; inferMs: number; postMs: number; encodeMs: number };
}

/** Cancel and progress hooks, and for a job its id and attempt (the handler's log lines carry them). */
export interface PipelineContext extends RunContext {
  job?: JobRef | undefined;
  log?: Logger | undefined;
}

export interface Pipelines {
  /**
   * Runs `op` on the encoded `input`; options are already validated (core's `parseOptions`). Any
   * input is converted to 8-bit sRGB for the model (16-bit, greyscale, CMYK, palette); an alpha
   * channel is kept (upscale scales it, enhance and comic keep it, background-removal multiplies
   * it into the mask). An animated input (GIF, animated WebP) is processed from its first frame.
   */
  run<Op extends OpName>(
    op: Op,
    input: Buffer,
    options: OpOptionsMap[Op],
    ctx: PipelineContext,
  ): Promise<PipelineResult>;
  /** Whether this build can run `op`. */
  supports(op: OpName): boolean;
  /** Resolves and loads each op's default models (helpers included) and runs one tiny inference on each. */
  warmUp(ops: readonly OpName[]): Promise<void>;
}

export const SUPPORTED_OPS = Object.keys(OP_HANDLERS) as readonly OpName[];

/**
 * Creates the op pipelines: probe → decode → models → encode, with the models `chooseModels` picks;
 * the model step of each op is its handler in `ops/` (the `OP_HANDLERS` table).
 * Permanent input problems raise `PermanentJobError`; a missing model raises `MODEL_UNAVAILABLE`.
 */
export function createPipelines(deps: PipelineDeps): Pipelines {
  const { registry, sessions, limits } = deps;
  const tileBudget = deps.maxTileMs === undefined ? undefined : createTileBudget(deps.maxTileMs);

  const load = async (entry: ModelEntry): Promise<LoadedModel> => ({
    entry,
    session: await sessions.get(await registry.resolve(entry.id)),
  });

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

      const choice = chooseModels(registry, op, options);
      // Model loading (once per process, normally at warm-up) is logged by the session cache, not timed here.
      const models: OpModels = {
        main: await load(choice.main),
        denoiser: choice.denoiser && (await load(choice.denoiser)),
        portrait: choice.portrait && (await load(choice.portrait)),
      };
      const times: StageTimes = { preMs: 0, inferMs: 0, postMs: 0 };
      const log = ctx.log?.child({ op, ...(ctx.job && { jobId: ctx.job.id, attempt: ctx.job.attempt }) });
      const image = await OP_HANDLERS[op].run(models, decoded, options, {
        signal: ctx.signal,
        onProgress: (f) => ctx.onProgress(f),
        times,
        tileBudget,
        log,
        job: ctx.job,
        target,
        tiles: deps.tiles,
        graphs: sessions,
      });
      const encodeStart = performance.now();
      const format = options.format ?? defaultOutputFormat(image.alpha !== null, probed.format);
      const encoded = await encodeImage(image, { format, quality: encoderQuality(options) });
      return {
        ...encoded,
        ...target,
        models: modelsOf(choice).map((m) => m.id),
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
        for (const entry of registry.list(op).filter((m) => m.default)) {
          const { session } = await load(entry);
          await warmUpSession(session, entry);
        }
        await OP_HANDLERS[op].warmUp?.(sessions, registry.defaultFor(op));
      }
    },
  };
}

async function warmUpSession(session: ort.InferenceSession, entry: ModelEntry): Promise<void> {
  const { multiple, input, output, inputSize, noiseInput } = entry.contract;
  const side = Math.ceil(32 / multiple) * multiple;
  const [height, width] = inputSize ? [inputSize.height, inputSize.width] : [side, side];
  const feeds: Record<string, ort.Tensor> = {
    [input]: new ort.Tensor("float32", new Float32Array(3 * width * height), [1, 3, height, width]),
  };
  if (noiseInput) feeds[noiseInput] = new ort.Tensor("float32", new Float32Array([10 / 255]), [1, 1, 1, 1]);
  const result = await session.run(feeds);
  if (!result[output]) throw new Error(`Warm-up of model ${entry.id} produced no output named ${output}`);
  for (const value of Object.values(result)) value.dispose();
}
