import { Command, InvalidArgumentError, Option } from "commander";
import { OP_DESCRIPTIONS, OP_NAMES, OUTPUT_FORMATS, JOB_STATUSES } from "@imagen/core";
import { cancelJob, getJob, listJobs, type ListJobsFlags } from "./commands/jobs.js";
import { listModels } from "./commands/models.js";
import { listOps } from "./commands/ops.js";
import { runOp, type RunOpFlags } from "./commands/run-op.js";
import type { CommandContext, GlobalFlags } from "./context.js";

/** Builds a command's context from the global flags; `run` sets the exit status. */
export interface ProgramHooks {
  context(flags: GlobalFlags): CommandContext;
  run(action: () => Promise<number>): Promise<void>;
}

const DEFAULT_CONCURRENCY = 2;

/** The `imagen` command line (commander): one command per op, `ops`, `models [verify]`, `jobs [ls|get|cancel]`. */
export function buildProgram(version: string, hooks: ProgramHooks): Command {
  const program = new Command("imagen")
    .description("Run Imagen's ops on image files and folders, in this process or on a running Imagen (--api).")
    .version(version)
    .option("--api <url>", "send the work to a running Imagen (env IMAGEN_API_URL)")
    .option("--key <key>", "API key, sent as a Bearer token (env IMAGEN_API_KEY)")
    .option("--json", "machine-readable output on stdout")
    .option("--model-dir <dir>", "model files for in-process runs (env IMAGEN_MODEL_DIR; default: the repo's models/)")
    .option("--manifest <file>", "model catalogue (env IMAGEN_MODEL_MANIFEST; default: models/manifest.json)")
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const inContext = (command: Command, action: (ctx: CommandContext) => Promise<number>) =>
    hooks.run(() => action(hooks.context(command.optsWithGlobals<GlobalFlags>())));

  for (const op of OP_NAMES) {
    program
      .command(op)
      .description(OP_DESCRIPTIONS[op])
      .argument("<paths...>", "image files and folders")
      .requiredOption("--out <dir>", "folder for the results, written as <name>.<op>.<ext>")
      .option("-o, --option <key=value>", "an option of the op (repeatable; see imagen ops)", collect)
      .option("--model <id>", "model from the catalogue (see imagen ops)")
      .addOption(
        new Option("--format <format>", "output format (default: png with alpha, else the input's)").choices(
          OUTPUT_FORMATS,
        ),
      )
      .option("-r, --recursive", "walk sub-folders too (their outputs go to the same sub-folders of --out)")
      .option("-c, --concurrency <n>", "files processed at once", positiveInt, DEFAULT_CONCURRENCY)
      .action((paths: string[], flags: RunOpFlags, command: Command) =>
        inContext(command, (ctx) => runOp(op, paths, flags, ctx)),
      );
  }

  program
    .command("ops")
    .description("list the ops, their options with defaults, and their models")
    .action((_flags, command: Command) => inContext(command, listOps));

  const models = program.command("models").description("the model catalogue");
  models
    .command("ls", { isDefault: true })
    .description("list the catalogue's models, their files and sizes")
    .action((_flags, command: Command) => inContext(command, (ctx) => listModels(ctx, { verify: false })));
  models
    .command("verify")
    .description("check each model file's sha256 against the catalogue; exit 1 on a missing or wrong file")
    .action((_flags, command: Command) => inContext(command, (ctx) => listModels(ctx, { verify: true })));

  const jobs = program.command("jobs").description("jobs on a running Imagen (needs --api)");
  jobs
    .command("ls", { isDefault: true })
    .description("list jobs, newest first")
    .addOption(new Option("--status <status>", "only jobs with this status").choices(JOB_STATUSES))
    .addOption(new Option("--op <op>", "only jobs of this op").choices(OP_NAMES))
    .option("--limit <n>", "jobs per page (1-100)", positiveInt)
    .option("--cursor <cursor>", "the next page, as printed by the previous one")
    .action((flags: ListJobsFlags, command: Command) => inContext(command, (ctx) => listJobs(ctx, flags)));
  jobs
    .command("get")
    .description("show a job")
    .argument("<id>")
    .action((id: string, _flags, command: Command) => inContext(command, (ctx) => getJob(ctx, id)));
  jobs
    .command("cancel")
    .description("cancel a queued or running job")
    .argument("<id>")
    .action((id: string, _flags, command: Command) => inContext(command, (ctx) => cancelJob(ctx, id)));

  return program;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`Expected a positive integer but received ${value}`);
  }
  return n;
}
