import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { readAll, type BlobStore } from "@imagen/core";
import { describeBlobStoreContract } from "@imagen/testing/contracts";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { emulators, uniqueName } from "../test/gcp-test-kit.js";
import { createGcsBlobStore, type GcsBlobStoreOptions, type ServiceAccountKey } from "./gcs-blob-store.js";

/*
 * Against fake-gcs-server. It serves signed URLs (GET and PUT on `/<bucket>/<object>`, the path the
 * SDK signs when `apiEndpoint` is set) but checks neither the signature nor the expiry nor
 * `x-goog-content-length-range`: those are shown only to be present in the URL and headers. Signing
 * uses a throwaway RSA key made here, so it runs offline; the IAM signBlob path (Workload Identity)
 * is not exercised.
 */

const MiB = 1024 * 1024;
let credentials: ServiceAccountKey;

beforeAll(() => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  credentials = {
    client_email: "imagen-test@imagen-test.iam.gserviceaccount.com",
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
});

const open = (overrides: Partial<GcsBlobStoreOptions> = {}): BlobStore =>
  createGcsBlobStore({
    projectId: emulators().projectId,
    apiEndpoint: emulators().storage,
    bucket: uniqueName("bucket"),
    resumableThresholdBytes: MiB,
    credentials,
    createBucket: true,
    ...overrides,
  });

describeBlobStoreContract("GcsBlobStore", async () => {
  const bucket = uniqueName("bucket");
  return {
    store: open({ bucket }),
    reopen: async () => open({ bucket }),
    cleanup: async () => {},
  };
});

/** A pass-through proxy in front of fake-gcs-server that notes each request's upload type. */
async function recordingProxy(target: string): Promise<{ server: Server; url: string; uploadTypes: string[] }> {
  const uploadTypes: string[] = [];
  const server = createServer((req, res) => {
    const uploadType = new URL(req.url ?? "/", "http://proxy").searchParams.get("uploadType");
    if (uploadType !== null && req.method === "POST") uploadTypes.push(uploadType);
    const upstream = request(new URL(req.url ?? "/", target), { method: req.method, headers: req.headers }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, uploadTypes };
}

describe("GcsBlobStore uploads", () => {
  let proxy: Awaited<ReturnType<typeof recordingProxy>> | undefined;
  afterEach(async () => {
    await new Promise((resolve) => proxy?.server.close(resolve) ?? resolve(undefined));
    proxy = undefined;
  });

  it("sends bodies below the threshold in one request and larger ones as resumable uploads", async () => {
    proxy = await recordingProxy(emulators().storage);
    const store = open({ apiEndpoint: proxy.url });
    const large = randomBytes(3 * MiB);
    await store.put("small/buffer", randomBytes(10_000), { contentType: "image/png" });
    await store.put("small/stream", Readable.from([randomBytes(1_000), randomBytes(1_000)]), {
      contentType: "image/png",
    });
    await store.put("large/buffer", large, { contentType: "image/png" });
    const chunks = Array.from({ length: 12 }, (_, i) => large.subarray(i * 256 * 1024, (i + 1) * 256 * 1024));
    const info = await store.put("large/stream", Readable.from(chunks), { contentType: "image/webp" });
    expect(proxy.uploadTypes).toEqual(["multipart", "multipart", "resumable", "resumable"]);
    expect(info).toEqual({ key: "large/stream", sizeBytes: 3 * MiB, contentType: "image/webp" });
    const stream = await store.get("large/stream");
    expect(stream && (await readAll(stream)).equals(large)).toBe(true);
  });
});

describe("GcsBlobStore signed URLs", () => {
  it("signs a V4 GET URL that fake-gcs-server serves", async () => {
    const bucket = uniqueName("bucket");
    const store = open({ bucket });
    await store.put("outputs/job.png", Buffer.from("png bytes"), { contentType: "image/png" });
    const url = new URL((await store.url("outputs/job.png", { expiresInS: 300 }))!);
    expect(url.pathname).toBe(`/${bucket}/outputs/job.png`);
    expect(url.searchParams.get("X-Goog-Algorithm")).toBe("GOOG4-RSA-SHA256");
    expect(url.searchParams.get("X-Goog-Expires")).toBe("300");
    expect(url.searchParams.get("X-Goog-Credential")).toMatch(/^imagen-test@/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(await res.text()).toBe("png bytes");
  });

  it("signs a PUT URL bound to the content type and a length range", async () => {
    const store = open();
    const upload = (await store.uploadUrl("uploads/up-2", {
      contentType: "image/jpeg",
      maxBytes: 5_000,
      expiresInS: 60,
    }))!;
    expect(upload.headers).toEqual({ "content-type": "image/jpeg", "x-goog-content-length-range": "0,5000" });
    const signed = new URL(upload.url).searchParams.get("X-Goog-SignedHeaders")?.split(";");
    expect(signed).toEqual(expect.arrayContaining(["content-type", "x-goog-content-length-range"]));
    const res = await fetch(upload.url, { method: "PUT", body: Buffer.from("jpeg bytes"), headers: upload.headers });
    expect(res.ok).toBe(true);
    expect(await store.head("uploads/up-2")).toEqual({ key: "uploads/up-2", sizeBytes: 10, contentType: "image/jpeg" });
  });

  it("rejects an expiry beyond the seven days V4 allows", async () => {
    await expect(open().url("outputs/x", { expiresInS: 8 * 24 * 3600 })).rejects.toMatchObject({
      name: "ValidationError",
    });
  });
});
