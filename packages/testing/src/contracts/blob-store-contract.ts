import { createHash, randomBytes, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { isAppError } from "@imagen/core";
import type { BlobStore } from "@imagen/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rejectionOf } from "./async-helpers.js";

export interface BlobStoreFixture {
  store: BlobStore;
  /** A second store on the same data, as another process would open it; absent if it has none. */
  reopen?: () => Promise<BlobStore>;
  /** Closes `store` and every reopened one, and removes their data. */
  cleanup(): Promise<void>;
}

const UNSAFE_KEYS = ["../x", "/abs", "", "a//b", "a/../b", "a/", "./a"];

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

async function bytesOf(store: BlobStore, key: string): Promise<Buffer | null> {
  const stream = await store.get(key);
  return stream === null ? null : readAll(stream);
}

/** A digest compares large buffers far faster than `toEqual`, and fails with a short message. */
function digest(bytes: Buffer | null): string | null {
  return bytes === null ? null : `${bytes.length}:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Yields `chunks`, then fails: a client that disconnects mid-upload. */
function failingStream(chunks: Buffer[]): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) yield chunk;
      throw new Error("connection reset mid-upload");
    })(),
  );
}

/** The `BlobStore` contract. `makeStore` is called before every test; `cleanup` after it. */
export function describeBlobStoreContract(name: string, makeStore: () => Promise<BlobStoreFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let fixture: BlobStoreFixture;
    let store: BlobStore;
    let prefix: string;
    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
      prefix = `test-${randomUUID()}`;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it("stores a Buffer and returns its bytes, size and content type", async () => {
      const key = `${prefix}/inputs/job-1`;
      const body = randomBytes(1_000);
      const info = await store.put(key, body, { contentType: "image/png" });
      expect(info).toEqual({ key, sizeBytes: 1_000, contentType: "image/png" });
      expect(await store.head(key)).toEqual(info);
      expect(digest(await bytesOf(store, key))).toBe(digest(body));
    });

    it("stores a Readable of many chunks", async () => {
      const key = `${prefix}/outputs/job-2.webp`;
      const chunks = Array.from({ length: 40 }, () => randomBytes(64 * 1024));
      const info = await store.put(key, Readable.from(chunks), { contentType: "image/webp" });
      const body = Buffer.concat(chunks);
      expect(info).toEqual({ key, sizeBytes: body.length, contentType: "image/webp" });
      expect(digest(await bytesOf(store, key))).toBe(digest(body));
    });

    it("stores an empty blob", async () => {
      const key = `${prefix}/empty`;
      await store.put(key, Buffer.alloc(0), { contentType: "application/octet-stream" });
      expect(await store.head(key)).toMatchObject({ sizeBytes: 0 });
      expect(await bytesOf(store, key)).toEqual(Buffer.alloc(0));
    });

    it("overwrites a blob with new bytes and content type", async () => {
      const key = `${prefix}/outputs/job-3`;
      await store.put(key, Buffer.from("first version"), { contentType: "image/png" });
      await store.put(key, Buffer.from("second"), { contentType: "image/jpeg" });
      expect(await store.head(key)).toEqual({ key, sizeBytes: 6, contentType: "image/jpeg" });
      expect((await bytesOf(store, key))?.toString()).toBe("second");
    });

    it("returns null from get and head for a missing key", async () => {
      expect(await store.get(`${prefix}/missing`)).toBeNull();
      expect(await store.head(`${prefix}/missing`)).toBeNull();
    });

    it("deletes a blob, and deleting a missing one is not an error", async () => {
      const key = `${prefix}/inputs/job-4`;
      await store.put(key, Buffer.from("x"), { contentType: "image/png" });
      await store.delete(key);
      expect(await store.head(key)).toBeNull();
      expect(await store.get(key)).toBeNull();
      await store.delete(key);
      await store.delete(`${prefix}/never-written`);
    });

    it("keeps blobs whose keys share a prefix apart", async () => {
      await store.put(`${prefix}/a`, Buffer.from("A"), { contentType: "text/plain" });
      await store.put(`${prefix}/a.json`, Buffer.from("JSON"), { contentType: "application/json" });
      await store.delete(`${prefix}/a`);
      expect(await store.head(`${prefix}/a.json`)).toEqual({
        key: `${prefix}/a.json`,
        sizeBytes: 4,
        contentType: "application/json",
      });
    });

    it.each(UNSAFE_KEYS)("rejects the unsafe key %j in every call", async (key) => {
      const calls: (() => Promise<unknown>)[] = [
        () => store.put(key, Buffer.from("x"), { contentType: "text/plain" }),
        () => store.get(key),
        () => store.head(key),
        () => store.delete(key),
        () => store.url(key, { expiresInS: 60 }),
      ];
      for (const call of calls) {
        const err = await rejectionOf(Promise.resolve().then(call));
        expect(isAppError(err)).toBe(true);
        expect(err).toMatchObject({ name: "ValidationError", code: "VALIDATION_FAILED" });
      }
    });

    it("leaves no blob when the body stream fails midway", async () => {
      const key = `${prefix}/inputs/job-5`;
      const err = await rejectionOf(
        store.put(key, failingStream([randomBytes(70_000), randomBytes(70_000)]), { contentType: "image/png" }),
      );
      expect(err).toBeInstanceOf(Error);
      expect(await store.head(key)).toBeNull();
      expect(await store.get(key)).toBeNull();
    });

    it("keeps the previous blob when an overwrite fails midway", async () => {
      const key = `${prefix}/outputs/job-6`;
      await store.put(key, Buffer.from("good"), { contentType: "image/png" });
      await rejectionOf(store.put(key, failingStream([randomBytes(70_000)]), { contentType: "image/jpeg" }));
      expect(await store.head(key)).toEqual({ key, sizeBytes: 4, contentType: "image/png" });
      expect((await bytesOf(store, key))?.toString()).toBe("good");
    });

    it("gives null or a URL that serves the blob's bytes", async () => {
      const key = `${prefix}/outputs/job-7`;
      await store.put(key, Buffer.from("signed bytes"), { contentType: "image/png" });
      const url = await store.url(key, { expiresInS: 60 });
      if (url === null) return;
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("signed bytes");
    });

    it("gives null or an upload URL that stores what is PUT to it", async () => {
      const key = `${prefix}/uploads/up-1`;
      const upload = await store.uploadUrl(key, { contentType: "image/png", maxBytes: 1000, expiresInS: 60 });
      if (upload === null) return;
      const res = await fetch(upload.url, { method: "PUT", body: "uploaded", headers: upload.headers });
      expect(res.ok).toBe(true);
      expect(await store.head(key)).toMatchObject({ key, sizeBytes: 8 });
    });

    it("answers ping", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("shows blobs to another store opened on the same data", async ({ skip }) => {
      if (!fixture.reopen) return skip("the store has no second instance to open");
      const key = `${prefix}/inputs/job-8`;
      await store.put(key, Buffer.from("persisted"), { contentType: "image/avif" });
      const other = await fixture.reopen();
      expect(await other.head(key)).toEqual({ key, sizeBytes: 9, contentType: "image/avif" });
      expect((await bytesOf(other, key))?.toString()).toBe("persisted");
    });
  });
}
