import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { isAppError, type JobError } from "@imagen/core";
import type { FileOutcome, FileRunner } from "./file-runner.js";
import { describeFsError, type InputFile } from "./inputs.js";
import { writeOutput, type OutputNamer } from "./output-names.js";
import type { Reporter } from "./output/reporter.js";

export interface ProcessFilesDeps {
  runner: FileRunner;
  namer: OutputNamer;
  reporter: Reporter;
}

/**
 * Runs every file through the runner, `concurrency` at a time, and writes each result as soon as it
 * is ready. A file's failure is its outcome, never the run's: the others go on. Once `signal`
 * aborts, running files are canceled and the rest are not started (both end as `canceled`).
 * Outcomes come back in the order of `files`.
 */
export async function processFiles(
  files: readonly InputFile[],
  deps: ProcessFilesDeps,
  options: { concurrency: number; signal: AbortSignal },
): Promise<FileOutcome[]> {
  const outcomes: FileOutcome[] = new Array<FileOutcome>(files.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < files.length) {
      const index = next++;
      const file = files[index]!;
      outcomes[index] = options.signal.aborted
        ? canceledBeforeStart(file)
        : await processFile(file, deps, options.signal);
      deps.reporter.fileFinished(file, outcomes[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, files.length) }, lane));
  return outcomes;
}

async function processFile(file: InputFile, deps: ProcessFilesDeps, signal: AbortSignal): Promise<FileOutcome> {
  const started = performance.now();
  const outcome = (fields: Partial<FileOutcome>): FileOutcome => ({
    file: file.label,
    status: "failed",
    output: null,
    input: null,
    result: null,
    error: null,
    ...fields,
    ms: performance.now() - started,
  });
  deps.reporter.fileStarted(file);
  let input: Buffer;
  try {
    input = await readFile(file.path);
  } catch (err) {
    return outcome({ error: { code: "MISSING_FILE", message: `Cannot read ${file.label}: ${describeFsError(err)}` } });
  }
  try {
    const result = await deps.runner.run(input, file, {
      signal,
      onProgress: (fraction) => deps.reporter.fileProgress(file, fraction),
    });
    const target = deps.namer.pathFor(file, result.output.format);
    await writeOutput(target, result.data);
    return outcome({ status: "succeeded", output: shownPath(target), input: result.input, result: result.output });
  } catch (err) {
    if (signal.aborted) return outcome({ status: "canceled" });
    return outcome({ error: jobErrorOf(err) });
  }
}

function canceledBeforeStart(file: InputFile): FileOutcome {
  return {
    file: file.label,
    status: "canceled",
    output: null,
    input: null,
    result: null,
    ms: 0,
    error: null,
  };
}

/** The code and message a job would carry; an error without a code is a processing failure, as in the worker. */
function jobErrorOf(err: unknown): JobError {
  if (isAppError(err)) return { code: err.code, message: err.message };
  return { code: "PROCESSING_FAILED", message: err instanceof Error ? err.message : String(err) };
}

/** Relative to the current folder when the file is under it, else absolute. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}
