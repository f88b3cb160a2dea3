import { performance } from "node:perf_hooks";
import { AppError, type OpName } from "@imagen/core";
import type { CommandContext } from "../context.js";
import { requireApi } from "../context.js";
import { EXIT_CODES } from "../exit-codes.js";
import type { FileRunner } from "../file-runner.js";
import { collectInputs } from "../inputs.js";
import { parseOptionPairs } from "../option-pairs.js";
import { createOutputNamer } from "../output-names.js";
import { createJsonReporter } from "../output/json-reporter.js";
import { createPlainReporter } from "../output/plain-reporter.js";
import type { Reporter } from "../output/reporter.js";
import { createTtyReporter } from "../output/tty-reporter.js";
import { processFiles } from "../process-files.js";
import { createRemoteRunner } from "../remote/remote-runner.js";
import { UsageError } from "../usage-error.js";

export interface RunOpFlags {
  out: string;
  option?: string[];
  model?: string;
  format?: string;
  recursive?: boolean;
  concurrency: number;
}

/**
 * `imagen <op> <files or folders…> --out DIR`: runs the op on every image, in this process or on
 * `--api`, writes `<name>.<op>.<ext>` under DIR, and prints a summary. Exit status 1 when any file
 * failed, 130 when interrupted.
 */
export async function runOp(op: OpName, paths: string[], flags: RunOpFlags, ctx: CommandContext): Promise<number> {
  const { given, options } = parseOptionPairs(op, flags.option ?? [], { model: flags.model, format: flags.format });
  const inputs = await collectInputs(paths, { recursive: flags.recursive === true });
  const runner =
    ctx.apiUrl === undefined ? await localRunner(op, options, flags, ctx) : await remoteRunner(op, given, ctx);
  const reporter = chooseReporter(ctx);
  const started = performance.now();
  reporter.begin(inputs.files);
  let outcomes;
  try {
    outcomes = await processFiles(
      inputs.files,
      { runner, reporter, namer: createOutputNamer(flags.out, op, inputs.files) },
      { concurrency: flags.concurrency, signal: ctx.signal },
    );
  } finally {
    await runner.close();
  }
  reporter.end({ op, outcomes, skipped: inputs.skipped, ms: performance.now() - started });
  if (ctx.signal.aborted) return EXIT_CODES.interrupted;
  return outcomes.some((o) => o.status !== "succeeded") ? EXIT_CODES.failed : EXIT_CODES.ok;
}

async function localRunner(
  op: OpName,
  options: ReturnType<typeof parseOptionPairs>["options"],
  flags: RunOpFlags,
  ctx: CommandContext,
): Promise<FileRunner> {
  // onnxruntime loads only for in-process runs, not for `--api`.
  const { createLocalRunner } = await import("../local/local-runner.js");
  return createLocalRunner(op, options, { models: ctx.models, limits: ctx.limits, concurrency: flags.concurrency });
}

/**
 * Checks the API first (reachable, the key accepted, the op offered and able to run, `--model`
 * one of its models), so that a wrong URL or key fails once instead of once per file.
 */
async function remoteRunner(op: OpName, given: Record<string, unknown>, ctx: CommandContext): Promise<FileRunner> {
  const client = requireApi(ctx, op);
  const listing = (await client.ops()).find((o) => o.name === op);
  if (!listing) throw new UsageError(`The API at ${client.baseUrl} does not offer op ${op}`);
  if (listing.available === false) {
    throw new AppError(
      "OP_UNAVAILABLE",
      `The API at ${client.baseUrl} cannot run ${op} now: ${listing.unavailableReason}`,
      {
        expose: true,
      },
    );
  }
  if (typeof given.model === "string" && !listing.models.some((m) => m.id === given.model)) {
    const known = listing.models.map((m) => m.id).join(", ");
    throw new UsageError(`Expected a model for ${op} (${known}) but received ${given.model}`);
  }
  return createRemoteRunner(client, op, given);
}

function chooseReporter(ctx: CommandContext): Reporter {
  if (ctx.json) return createJsonReporter(ctx.stdout);
  return ctx.tty ? createTtyReporter(ctx.stdout, ctx.paint) : createPlainReporter(ctx.stdout);
}
