import type { OpName, OpOptions } from "@imagen/core";
import { choiceProblems, chooseModels, type ModelRegistry } from "@imagen/catalogue";

/** What an API that runs the models itself (the embedded worker of `npm start`) knows of them. */
export interface LocalRun {
  /** Why this process will not run jobs of `op` (its worker does not consume it, or failed to load it), or null. */
  opProblem(op: OpName): string | null;
}

/**
 * Why a job of `op` with `options` could not run in this process: the worker's own state of the
 * op, then each model the job would use that is missing or damaged (named by its catalogue file).
 * Empty when it can run.
 */
export async function localRunProblems(
  models: ModelRegistry,
  local: LocalRun,
  op: OpName,
  options: OpOptions,
): Promise<string[]> {
  const worker = local.opProblem(op);
  const files = await choiceProblems(models, chooseModels(models, op, options));
  return worker === null ? files : [worker, ...files];
}
