import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describeBlobStoreContract } from "@imagen/testing/contracts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../test/temp-dir.js";
import { createFsBlobStore } from "./fs-blob-store.js";

describeBlobStoreContract("FsBlobStore", async () => {
  const dir = await makeTempDir("blobs");
  return {
    store: createFsBlobStore({ root: dir.path }),
    reopen: async () => createFsBlobStore({ root: dir.path }),
    cleanup: () => dir.remove(),
  };
});

describe("FsBlobStore on disk", () => {
  let dir: TempDir;
  beforeEach(async () => {
    dir = await makeTempDir("blobs");
  });
  afterEach(async () => {
    await dir.remove();
  });

  it("keeps the bytes as a plain file at the key's path", async () => {
    const store = createFsBlobStore({ root: dir.path });
    await store.put("outputs/job.png", Buffer.from("png bytes"), { contentType: "image/png" });
    expect(await readdir(join(dir.path, "outputs"))).toEqual(["job.png"]);
  });

  it("leaves no temporary file behind when a stream fails", async () => {
    const store = createFsBlobStore({ root: dir.path });
    await store.put("inputs/other", Buffer.from("x"), { contentType: "image/png" });
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(100_000);
        throw new Error("client went away");
      })(),
    );
    await expect(store.put("inputs/job", failing, { contentType: "image/png" })).rejects.toThrow("client went away");
    expect(await readdir(join(dir.path, "inputs"))).toEqual(["other"]);
    expect(await readdir(join(dir.path, ".meta", "inputs"))).toEqual(["other.json"]);
  });

  it("reports a blob without metadata as application/octet-stream", async () => {
    const store = createFsBlobStore({ root: dir.path });
    await store.put("inputs/job", Buffer.from("abcd"), { contentType: "image/png" });
    await rm(join(dir.path, ".meta"), { recursive: true });
    expect(await store.head("inputs/job")).toEqual({
      key: "inputs/job",
      sizeBytes: 4,
      contentType: "application/octet-stream",
    });
  });

  it("returns null for a key that names a directory", async () => {
    const store = createFsBlobStore({ root: dir.path });
    await store.put("a/b", Buffer.from("x"), { contentType: "text/plain" });
    expect(await store.get("a")).toBeNull();
    expect(await store.head("a")).toBeNull();
  });
});
