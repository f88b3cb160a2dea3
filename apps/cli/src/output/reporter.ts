import type { OpName } from "@imagen/core";
import type { FileOutcome } from "../file-runner.js";
import type { InputFile, SkippedFile } from "../inputs.js";

/** A finished run, as the summary shows it. */
export interface RunSummary {
  op: OpName;
  outcomes: FileOutcome[];
  skipped: SkippedFile[];
  ms: number;
}

/** Shows a run as it goes: bars on a terminal, lines in a pipe, one JSON document with `--json`. */
export interface Reporter {
  begin(files: readonly InputFile[]): void;
  fileStarted(file: InputFile): void;
  /** The file's progress, 0..1. */
  fileProgress(file: InputFile, fraction: number): void;
  fileFinished(file: InputFile, outcome: FileOutcome): void;
  end(summary: RunSummary): void;
}

/** Where a reporter writes: the process's stdout, or a test's capture. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}
