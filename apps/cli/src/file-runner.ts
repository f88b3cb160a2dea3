import type { JobError, OutputFormat } from "@imagen/core";
import type { InputFile } from "./inputs.js";

/** An image as the summary shows it. */
export interface ImageSummary {
  width: number;
  height: number;
  format: string;
  bytes: number;
}

/** What running the op on one file gave: the encoded result and both images' sizes. */
export interface RunResult {
  input: ImageSummary;
  output: ImageSummary & { format: OutputFormat };
  data: Buffer;
}

export interface RunContext {
  signal: AbortSignal;
  /** The file's progress, 0..1. */
  onProgress: (fraction: number) => void;
}

/**
 * Runs the op on encoded images: in this process (the worker's pipelines) or on a running Imagen.
 * A failure is thrown as an `AppError` whose code is the service's (UNSUPPORTED_IMAGE, …).
 */
export interface FileRunner {
  run(input: Buffer, file: InputFile, ctx: RunContext): Promise<RunResult>;
  close(): Promise<void>;
}

export type FileStatus = "succeeded" | "failed" | "canceled";

/** One file's line in the summary. */
export interface FileOutcome {
  file: string;
  status: FileStatus;
  /** Where the result was written, as a path from the current folder when it is under it. */
  output: string | null;
  input: ImageSummary | null;
  result: ImageSummary | null;
  ms: number;
  error: JobError | null;
}
