import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import * as path from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AppError } from "@imagen/core";
import type { ModelSource } from "./model-source.js";

/** Bytes received so far for one model file. */
export interface DownloadProgress {
  id: string;
  file: string;
  receivedBytes: number;
  totalBytes: number;
}

/** What a download needs to know about the model: the manifest entry's identity and checksum. */
export interface DownloadTarget {
  id: string;
  file: string;
  sha256: string;
  bytes: number;
}

/**
 * Downloads `entry.file` from `source` to `dest`, hashing while streaming into a temp file in the
 * same directory, which is renamed onto `dest` only once size and sha256 match. On any failure
 * (not found, transport error, cut connection, wrong size or checksum) the temp file is removed
 * and nothing is left at `dest`, so a half-downloaded model is never used. Errors are
 * `MODEL_UNAVAILABLE` and name the file; a checksum error names both hashes.
 */
export async function downloadModel(
  entry: DownloadTarget,
  dest: string,
  source: ModelSource,
  onProgress?: (progress: DownloadProgress) => void,
): Promise<void> {
  const from = source.describe(entry.file);
  const fail = (why: string, cause?: unknown): AppError =>
    new AppError("MODEL_UNAVAILABLE", `Could not download model ${entry.id} (${entry.file}) from ${from}: ${why}`, {
      cause,
    });
  await mkdir(path.dirname(dest), { recursive: true });
  const temp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomUUID()}.part`);
  try {
    const body = await source.open(entry.file).catch((cause: unknown) => {
      throw fail(errorText(cause), cause);
    });
    if (!body) throw fail("the source does not have this file");
    const meter = new HashMeter(entry, onProgress);
    await pipeline(body, meter, createWriteStream(temp, { flags: "wx", flush: true })).catch((cause: unknown) => {
      throw cause instanceof AppError ? cause : fail(errorText(cause), cause);
    });
    if (meter.receivedBytes !== entry.bytes) {
      throw fail(`expected ${entry.bytes} bytes but received ${meter.receivedBytes}`);
    }
    const actual = meter.digest();
    if (actual !== entry.sha256) {
      throw fail(`wrong checksum: expected sha256 ${entry.sha256} but received ${actual}`);
    }
    await rename(temp, dest);
  } finally {
    await rm(temp, { force: true });
  }
}

/** Passes bytes through while hashing and counting them; refuses more than the manifest's size. */
class HashMeter extends Transform {
  receivedBytes = 0;
  private readonly hash = createHash("sha256");

  constructor(
    private readonly entry: DownloadTarget,
    private readonly onProgress: ((progress: DownloadProgress) => void) | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.receivedBytes += chunk.length;
    if (this.receivedBytes > this.entry.bytes) {
      callback(
        new AppError(
          "MODEL_UNAVAILABLE",
          `Could not download model ${this.entry.id} (${this.entry.file}): expected ${this.entry.bytes} bytes but received more`,
        ),
      );
      return;
    }
    this.hash.update(chunk);
    const { id, file, bytes: totalBytes } = this.entry;
    this.onProgress?.({ id, file, receivedBytes: this.receivedBytes, totalBytes });
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest("hex");
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
