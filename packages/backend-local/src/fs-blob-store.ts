import { randomUUID } from "node:crypto";
import { createWriteStream, mkdirSync } from "node:fs";
import { access, mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { assertSafeKey } from "@imagen/core";
import type { BlobInfo, BlobStore } from "@imagen/core";

export interface FsBlobStoreOptions {
  /** The directory blobs live under; created when missing. */
  root: string;
}

/** Used when a blob has no metadata file (for example, one copied in by hand). */
const DEFAULT_CONTENT_TYPE = "application/octet-stream";
/** Metadata tree. No key segment may start with a dot, so this never collides with a key. */
const META_DIR = ".meta";

interface BlobMeta {
  contentType: string;
}

/**
 * A `BlobStore` on a directory. Blob `a/b` is the file `<root>/a/b`, so the bytes are plain files;
 * its content type is in `<root>/.meta/a/b.json`. Both files are written to a temporary name in
 * their own directory and renamed into place once the bytes are fully written, so a reader sees a
 * whole file or none, and a failed write leaves nothing behind (an overwrite that fails keeps the
 * previous blob). The metadata is renamed first, so a new blob never shows without its type; an
 * overwrite that changes the type may show the new type beside the old bytes for the instant between
 * the two renames.
 */
export function createFsBlobStore(options: FsBlobStoreOptions): BlobStore {
  const { root } = options;
  mkdirSync(root, { recursive: true });
  const dataPath = (key: string) => join(root, key);
  const metaPath = (key: string) => join(root, META_DIR, `${key}.json`);

  return {
    async put(key, body, putOptions) {
      assertSafeKey(key);
      const meta: BlobMeta = { contentType: putOptions.contentType };
      const data = await stage(dataPath(key), body);
      try {
        await commit(await stage(metaPath(key), Buffer.from(JSON.stringify(meta))));
        await commit(data);
      } catch (err) {
        await rm(data.temp, { force: true });
        throw err;
      }
      return { key, sizeBytes: data.sizeBytes, contentType: meta.contentType };
    },
    async get(key) {
      assertSafeKey(key);
      const handle = await open(dataPath(key), "r").catch(nullIfMissing);
      if (!handle) return null;
      try {
        if (!(await handle.stat()).isFile()) {
          await handle.close();
          return null;
        }
      } catch (err) {
        await handle.close();
        throw err;
      }
      return handle.createReadStream();
    },
    async head(key) {
      assertSafeKey(key);
      const info = await stat(dataPath(key)).catch(nullIfMissing);
      if (!info?.isFile()) return null;
      return { key, sizeBytes: info.size, contentType: await readContentType(metaPath(key)) } satisfies BlobInfo;
    },
    async delete(key) {
      assertSafeKey(key);
      await unlink(dataPath(key)).catch(nullIfMissing);
      await rm(metaPath(key), { force: true });
    },
    async url(key) {
      assertSafeKey(key);
      return null;
    },
    async uploadUrl(key) {
      assertSafeKey(key);
      return null;
    },
    async ping() {
      await access(root);
    },
    async close() {},
  };
}

interface Staged {
  path: string;
  temp: string;
  sizeBytes: number;
}

/**
 * Writes `body` to a temporary file beside `path`; a failed write removes it. A buffer is written
 * first and its directory made only when that fails for want of it (most keys go to directories that
 * exist); a stream cannot be replayed, so its directory is made first.
 */
async function stage(path: string, body: Buffer | Readable): Promise<Staged> {
  const temp = join(dirname(path), `.tmp-${randomUUID()}`);
  try {
    if (Buffer.isBuffer(body)) {
      await writeFile(temp, body).catch(async (err: unknown) => {
        if (!isMissing(err)) throw err;
        await mkdir(dirname(path), { recursive: true });
        await writeFile(temp, body);
      });
      return { path, temp, sizeBytes: body.length };
    }
    await mkdir(dirname(path), { recursive: true });
    await pipeline(body, createWriteStream(temp));
    return { path, temp, sizeBytes: (await stat(temp)).size };
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

async function commit(staged: Staged): Promise<void> {
  try {
    await rename(staged.temp, staged.path);
  } catch (err) {
    await rm(staged.temp, { force: true });
    throw err;
  }
}

async function readContentType(path: string): Promise<string> {
  const raw = await readFile(path, "utf8").catch(nullIfMissing);
  if (raw === null) return DEFAULT_CONTENT_TYPE;
  const meta = JSON.parse(raw) as Partial<BlobMeta>;
  return typeof meta.contentType === "string" ? meta.contentType : DEFAULT_CONTENT_TYPE;
}

function nullIfMissing(err: unknown): null {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return null;
  throw err;
}

function isMissing(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "ENOENT";
}
