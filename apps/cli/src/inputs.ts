import type { Dirent } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import * as path from "node:path";
import { sniffFormat } from "@imagen/catalogue";
import { UsageError } from "./usage-error.js";

/** A file to process: where it is, how the output names it, and the sub-folder its output goes to. */
export interface InputFile {
  /** Absolute path. */
  path: string;
  /** As the user named it (the argument, joined with the names under a folder argument). */
  label: string;
  /** Folder under `--out` for its output: its folder relative to the folder argument ("" for a file argument). */
  outputDir: string;
}

/** A file found in a folder and left out: it is neither named nor shaped like an image. */
export interface SkippedFile {
  label: string;
  reason: string;
}

export interface Inputs {
  files: InputFile[];
  skipped: SkippedFile[];
}

/** Extensions taken from a folder without reading the file; anything else is taken when its bytes sniff as an image. */
const IMAGE_EXTENSIONS = new Set([
  ".png",
  ".jpg",
  ".jpeg",
  ".jpe",
  ".webp",
  ".avif",
  ".heic",
  ".heif",
  ".gif",
  ".tif",
  ".tiff",
]);

/**
 * The files that the arguments name. A file argument is always taken: if it is no image, it fails
 * like an upload would (UNSUPPORTED_IMAGE). A folder contributes its files with an image extension or
 * image magic bytes, its sub-folders too with `recursive`; hidden entries are ignored, and other
 * files are listed as skipped. Throws `UsageError` for a path that does not exist, or when nothing is left.
 */
export async function collectInputs(args: readonly string[], options: { recursive: boolean }): Promise<Inputs> {
  const inputs: Inputs = { files: [], skipped: [] };
  const seen = new Set<string>();
  const take = (file: InputFile): void => {
    if (seen.has(file.path)) return;
    seen.add(file.path);
    inputs.files.push(file);
  };
  for (const arg of args) {
    const absolute = path.resolve(arg);
    const info = await stat(absolute).catch((err: unknown) => {
      throw new UsageError(`Expected an existing file or folder but received ${arg} (${describeFsError(err)})`);
    });
    if (info.isDirectory()) await walkFolder(absolute, arg, "", options.recursive, take, inputs.skipped);
    else take({ path: absolute, label: arg, outputDir: "" });
  }
  if (inputs.files.length === 0) {
    throw new UsageError(`Expected image files but found none in ${args.join(", ")}`);
  }
  return inputs;
}

async function walkFolder(
  folder: string,
  label: string,
  outputDir: string,
  recursive: boolean,
  take: (file: InputFile) => void,
  skipped: SkippedFile[],
): Promise<void> {
  const entries: Dirent[] = await readdir(folder, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const file = path.join(folder, entry.name);
    const entryLabel = path.join(label, entry.name);
    const kind = entry.isSymbolicLink() ? await stat(file).catch(() => null) : entry;
    if (kind?.isDirectory()) {
      if (recursive) await walkFolder(file, entryLabel, path.join(outputDir, entry.name), recursive, take, skipped);
    } else if (kind?.isFile() && (await looksLikeImage(file))) {
      take({ path: file, label: entryLabel, outputDir });
    } else if (kind?.isFile()) {
      skipped.push({ label: entryLabel, reason: "not an image (extension and contents)" });
    }
  }
}

async function looksLikeImage(file: string): Promise<boolean> {
  if (IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase())) return true;
  // An unreadable file is taken, so that it is reported as failed rather than silently left out.
  const handle = await open(file, "r").catch(() => null);
  if (!handle) return true;
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return sniffFormat(head.subarray(0, bytesRead)) !== undefined;
  } finally {
    await handle.close();
  }
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT") return "no such file or folder";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "a folder";
  return err instanceof Error ? err.message : String(err);
}
