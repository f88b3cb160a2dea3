import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import * as path from "node:path";

/** Where a model was written, with the checksum and size a manifest entry needs. */
export interface WrittenModel {
  path: string;
  /** Path relative to the model dir, as a manifest `file` field. */
  file: string;
  sha256: string;
  bytes: number;
}

/** The lowercase hex sha256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Writes `bytes` to `dir/name` (`name` may contain sub-directories, e.g. `upscale/tiny.onnx`) and
 * returns the path, sha256 and size.
 */
export async function writeTinyModel(dir: string, name: string, bytes: Uint8Array): Promise<WrittenModel> {
  const target = path.join(dir, name);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, bytes);
  return { path: target, file: name, sha256: sha256Hex(bytes), bytes: bytes.byteLength };
}
