import { rename, mkdir, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { OpName, OutputFormat } from "@imagen/core";
import type { InputFile } from "./inputs.js";

const EXTENSIONS = { png: "png", jpeg: "jpg", webp: "webp", avif: "avif" } as const satisfies Record<
  OutputFormat,
  string
>;

/** Hands out output paths for one run. */
export interface OutputNamer {
  /** `<out>/<sub-folder>/<name>.<op>.<ext>`; `<name>-2.<op>.<ext>` (and so on) when an input or an earlier output of this run has that path. */
  pathFor(input: InputFile, format: OutputFormat): string;
}

/**
 * Output paths under `outDir` that never overwrite an input and never collide within the run (two
 * inputs named alike in different folders, or `a.png` and `a.jpg` both written as png). A file
 * left by an earlier run is replaced: running the same command twice gives the same files.
 */
export function createOutputNamer(outDir: string, op: OpName, inputs: readonly InputFile[]): OutputNamer {
  const taken = new Set(inputs.map((input) => key(input.path)));
  return {
    pathFor(input, format) {
      const stem = path.basename(input.path, path.extname(input.path));
      const folder = path.resolve(outDir, input.outputDir);
      for (let n = 1; ; n++) {
        const candidate = path.join(folder, `${n === 1 ? stem : `${stem}-${n}`}.${op}.${EXTENSIONS[format]}`);
        if (taken.has(key(candidate))) continue;
        taken.add(key(candidate));
        return candidate;
      }
    },
  };
}

// Case-folded, so that the rule holds on case-insensitive file systems too (macOS, Windows).
function key(file: string): string {
  return path.resolve(file).toLowerCase();
}

/** Writes `data` to `file` through a temporary file beside it, so a file is never left half-written. */
export async function writeOutput(file: string, data: Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}
