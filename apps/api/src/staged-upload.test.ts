import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createFsBlobStore } from "@imagen/backend-local";
import { newJobId, type BlobStore } from "@imagen/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assertUploadToken, createUploadRecord, readStagedUpload, uploadKey } from "./staged-upload.js";

describe("two-phase upload records", () => {
  let dir: string;
  let blobs: BlobStore;
  const now = new Date("2025-01-01T00:00:00.000Z");
  const later = (ms: number) => new Date(now.getTime() + ms);
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "imagen-staged-"));
    blobs = createFsBlobStore({ root: dir });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("takes the token until the upload expires, then answers as for an unknown upload", async () => {
    const id = newJobId();
    const token = await createUploadRecord(blobs, id, { owner: null, expiresAt: later(60_000), withToken: true });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await expect(assertUploadToken(blobs, id, token!, later(59_000))).resolves.toBeUndefined();
    await expect(assertUploadToken(blobs, id, token!, later(60_000))).rejects.toMatchObject({
      code: "UPLOAD_NOT_FOUND",
    });
  });

  it("gives no token where the store signs its own upload URL, and then the API's PUT is refused", async () => {
    const id = newJobId();
    expect(await createUploadRecord(blobs, id, { owner: null, expiresAt: later(60_000), withToken: false })).toBeNull();
    await expect(assertUploadToken(blobs, id, "anything", now)).rejects.toMatchObject({ code: "UPLOAD_NOT_FOUND" });
  });

  it("lets only the key that created an upload make a job from it", async () => {
    const id = newJobId();
    await createUploadRecord(blobs, id, { owner: "alice", expiresAt: later(60_000), withToken: true });
    await blobs.put(uploadKey(id), Buffer.from("bytes"), { contentType: "image/png" });
    const limits = { maxUploadBytes: 1_000, now };
    await expect(readStagedUpload(blobs, id, "bob", limits)).rejects.toMatchObject({ code: "UPLOAD_NOT_FOUND" });
    expect((await readStagedUpload(blobs, id, "alice", limits)).toString()).toBe("bytes");
    // Without keys every upload is open, as every job is.
    expect((await readStagedUpload(blobs, id, null, limits)).toString()).toBe("bytes");
  });
});
