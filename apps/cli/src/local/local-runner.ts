import { availableParallelism } from "node:os";
import { AppError, isAppError, type ImageLimits, type ModelConfig, type OpName, type OpOptionsMap } from "@imagen/core";
import {
  choiceProblems,
  chooseModels,
  createModelRegistry,
  createPipelinePool,
  loadManifest,
  probeImage,
  type ThreadBudget,
} from "@imagen/imaging";
import type { FileRunner } from "../file-runner.js";
import { UsageError } from "../usage-error.js";

export interface LocalRunnerOptions {
  models: ModelConfig;
  limits: ImageLimits;
  /** Files processed at once: pool threads. */
  concurrency: number;
}

/**
 * Runs the op in this process on the worker's pipelines: the same catalogue, model registry and
 * pipeline pool (one thread per file at once, the cores split between them). Checks the model
 * choice first: a `--model` the catalogue does not have for the op is a `UsageError`, and a model
 * file that is missing or has the wrong checksum is `MODEL_UNAVAILABLE`, before any file runs.
 */
export async function createLocalRunner<Op extends OpName>(
  op: Op,
  options: OpOptionsMap[Op],
  config: LocalRunnerOptions,
): Promise<FileRunner> {
  const manifest = await loadManifest(config.models.manifestPath);
  const registry = createModelRegistry({ manifest, modelDir: config.models.modelDir });
  let problems: string[];
  try {
    problems = await choiceProblems(registry, chooseModels(registry, op, options));
  } catch (err) {
    if (isAppError(err) && err.code === "INVALID_OPTIONS") throw new UsageError(err.message, { cause: err });
    throw err;
  }
  if (problems.length > 0) {
    throw new AppError("MODEL_UNAVAILABLE", `Cannot run ${op}: ${problems.join("; ")} (${config.models.modelDir})`, {
      expose: true,
    });
  }
  const { maxInputPixels, maxOutputPixels, maxHeifPixels, decodeTimeoutS } = config.limits;
  const limits = { maxInputPixels, maxOutputPixels, maxHeifPixels, decodeTimeoutS };
  const pool = createPipelinePool({
    registry,
    manifest,
    modelDir: config.models.modelDir,
    executionProvider: config.models.executionProvider,
    deviceId: config.models.cudaDeviceId,
    budget: threadBudget(config.concurrency),
    limits,
  });
  return {
    async run(input, _file, ctx) {
      // The header first, as the API reads it at upload: the input's size for the summary, and its errors.
      const probed = await probeImage(input, limits);
      const result = await pool.run(op, input, options, { signal: ctx.signal, onProgress: ctx.onProgress });
      return {
        input: { width: probed.width, height: probed.height, format: probed.format, bytes: input.length },
        output: { width: result.width, height: result.height, format: result.format, bytes: result.data.length },
        data: result.data,
      };
    },
    close: () => pool.close(),
  };
}

/** Threads × ONNX Runtime threads each ≤ the cores, as the worker splits them. */
function threadBudget(concurrency: number, cores = availableParallelism()): ThreadBudget {
  const threads = Math.max(1, Math.min(concurrency, cores));
  return { threads, intraOpThreads: Math.max(1, Math.floor(cores / threads)) };
}
