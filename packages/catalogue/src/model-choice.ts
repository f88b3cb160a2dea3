import { PermanentJobError, type OpName, type OpOptions } from "@imagen/core";
import type { ModelEntry, ModelRegistry } from "./models.js";

/**
 * The models one job runs: the op's main model and the helpers beside it (enhance: the denoiser;
 * background-removal: the portrait model that rescues people the general model misses).
 */
export interface ModelChoice {
  main: ModelEntry;
  /** enhance: the denoiser. */
  denoiser?: ModelEntry;
  /** background-removal: the portrait model, absent when `model` names one model to run alone. */
  portrait?: ModelEntry;
}

/**
 * Picks the models for `op` with validated `options`: `model` (by id) wins; else an option that
 * selects a model (upscale `quality`, comic `style`); else the op's default. Enhance always has a
 * denoiser (`model` may name a denoiser instead of the low-light model). Background removal adds the
 * catalogue's portrait helper, when it has one, unless `model` names a model to run alone. An id of another op, or a choice with
 * no model in the catalogue, raises `INVALID_OPTIONS`.
 */
export function chooseModels(registry: ModelRegistry, op: OpName, options: OpOptions): ModelChoice {
  const named = options.model === undefined ? undefined : modelOfOp(registry, op, options.model);
  switch (op) {
    case "enhance": {
      const denoiser = named?.role === "denoise" ? named : registry.defaultFor(op, "denoise");
      const main = named && named.role === undefined ? named : registry.defaultFor(op);
      return { main, denoiser };
    }
    case "background-removal":
      if (named) return { main: named };
      return withPortrait(registry.defaultFor(op), registry);
    case "upscale":
    case "comic":
      return { main: named ?? chosenByOption(registry, op, options) ?? registry.defaultFor(op) };
  }
}

function withPortrait(main: ModelEntry, registry: ModelRegistry): ModelChoice {
  const portrait = registry.list("background-removal").find((m) => m.role === "portrait" && m.default);
  return portrait ? { main, portrait } : { main };
}

/**
 * Why the models of `choice` cannot run here (a file missing with nowhere to fetch it from, a
 * wrong checksum), one message per model naming its file; empty when they all can.
 */
export async function choiceProblems(registry: ModelRegistry, choice: ModelChoice): Promise<string[]> {
  const problems = await Promise.all(modelsOf(choice).map((m) => registry.problem(m.id)));
  return problems.filter((p): p is string => p !== null);
}

/** Every model of a choice, main first. */
export function modelsOf(choice: ModelChoice): ModelEntry[] {
  return [choice.main, choice.denoiser, choice.portrait].filter((m): m is ModelEntry => m !== undefined);
}

function modelOfOp(registry: ModelRegistry, op: OpName, id: string): ModelEntry {
  const entry = registry.list(op).find((m) => m.id === id);
  if (!entry) {
    const known = registry
      .list(op)
      .map((m) => m.id)
      .join(", ");
    throw new PermanentJobError("INVALID_OPTIONS", `Expected a model for ${op} (${known}) but received ${id}`, {
      details: { option: "model" },
    });
  }
  return entry;
}

function chosenByOption(registry: ModelRegistry, op: OpName, options: OpOptions): ModelEntry | undefined {
  const values = options as unknown as Record<string, unknown>;
  const candidates = registry.list(op).filter((m) => m.choice !== undefined);
  for (const option of new Set(candidates.map((m) => m.choice!.option))) {
    const value = values[option];
    if (typeof value !== "string") continue;
    const entry = candidates.find((m) => m.choice!.option === option && m.choice!.value === value);
    if (!entry) {
      throw new PermanentJobError("INVALID_OPTIONS", `No model in the catalogue for ${op} ${option} ${value}`, {
        details: { option },
      });
    }
    return entry;
  }
  return undefined;
}
