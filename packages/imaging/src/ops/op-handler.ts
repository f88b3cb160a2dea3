import type { ModelEntry } from "@imagen/catalogue";
import { AppError, type Logger, type OpName, type OpOptionsMap } from "@imagen/core";
import type { DecodedImage } from "../decode.js";
import type { RawImage } from "../encode.js";
import type { RunContext, StageTimes, TileOverrides } from "../image-to-image.js";
import type { GraphSessions, LoadedModel } from "../sessions.js";

/** The job a pipeline runs for, when it runs for one (the worker's): it names the log lines. */
export interface JobRef {
  id: string;
  attempt: number;
}

/** The loaded models of a job: the main one and the helpers `chooseModels` added. */
export interface OpModels {
  main: LoadedModel;
  denoiser?: LoadedModel | undefined;
  portrait?: LoadedModel | undefined;
}

/** What every handler gets besides its image and options. */
export interface OpContext extends RunContext {
  times: StageTimes;
  /** Carries `op` and, for a job, its id and attempt. */
  log: Logger | undefined;
  job: JobRef | undefined;
  /** Output size, already checked against the limits. */
  target: { width: number; height: number };
  /** Tiling overrides for every model (tests use small tiles). */
  tiles: TileOverrides | undefined;
  /** Sessions for graphs built in code (post-processing steps run by ONNX Runtime), on the job's threads. */
  graphs: GraphSessions;
}

/**
 * One op's model step: decoded pixels in, raw pixels out (the pipeline decodes before and encodes
 * after). Progress goes 0→1 through `ctx.onProgress`; `ctx.signal` is honoured between tiles.
 */
export interface OpHandler<Op extends OpName> {
  run(models: OpModels, image: DecodedImage, options: OpOptionsMap[Op], ctx: OpContext): Promise<RawImage>;
  /** Prepares what the op runs besides its models' sessions (its built graphs), for `main` as the main model. */
  warmUp?(graphs: GraphSessions, main: ModelEntry): Promise<void>;
}

/** Every op has its handler: an op without one is a type error here. */
export type OpTable = { readonly [Op in OpName]: OpHandler<Op> };

/** A helper model the handler cannot run without (`chooseModels` always picks one when the catalogue has it). */
export function required(model: LoadedModel | undefined, what: string): LoadedModel {
  if (!model) throw new AppError("MODEL_UNAVAILABLE", `Expected ${what} in the catalogue but it has none`);
  return model;
}
