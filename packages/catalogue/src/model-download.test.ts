import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { sha256Hex, tinyEnhanceModel, tinyUpscaleModel } from "@imagen/testing/onnx";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createModelRegistry, type ModelEntry, type ModelManifest } from "./models.js";
import { createHttpModelSource, createModelSource, parseModelSource } from "./model-source.js";
import type { DownloadProgress } from "./model-download.js";

type Behaviour = "serve" | "404" | "500" | "cut";

/** A loopback HTTP server serving `files` under /models/, each with a switchable behaviour. */
async function startModelServer(files: Record<string, Uint8Array>): Promise<{
  base: string;
  hits: Map<string, number>;
  behave: Map<string, Behaviour>;
  server: Server;
}> {
  const hits = new Map<string, number>();
  const behave = new Map<string, Behaviour>();
  const server = createServer((req, res) => {
    const file = decodeURIComponent((req.url ?? "").replace(/^\/models\//, ""));
    hits.set(file, (hits.get(file) ?? 0) + 1);
    respond(res, files[file], behave.get(file) ?? "serve");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}/models`, hits, behave, server };
}

function respond(res: ServerResponse, body: Uint8Array | undefined, behaviour: Behaviour): void {
  if (!body || behaviour === "404") {
    res.writeHead(404).end("not found");
  } else if (behaviour === "500") {
    res.writeHead(500).end("boom");
  } else if (behaviour === "cut") {
    res.writeHead(200, { "content-length": body.length });
    // Half the body, then the connection drops: the client must see an error, not a short file.
    res.write(body.subarray(0, body.length >> 1), () => res.destroy());
  } else {
    res.writeHead(200, { "content-length": body.length }).end(body);
  }
}

const UP = tinyUpscaleModel({ scale: 4 });
const ENH = tinyEnhanceModel({ gain: 1.5 });

function entry(id: string, file: string, bytes: Uint8Array, extra: Partial<ModelEntry> = {}): ModelEntry {
  return {
    id,
    op: id.startsWith("up") ? "upscale" : "enhance",
    label: id,
    default: true,
    file,
    sha256: sha256Hex(bytes),
    bytes: bytes.length,
    source: { url: "https://example.invalid/weights.pth", licence: "MIT" },
    contract: {
      ...{ input: "input", output: "output", layout: "NCHW", channels: "RGB", range: [0, 1] },
      ...{ scale: 1, multiple: 1, tileSize: 64, tileOverlap: 4, clamp: true },
    },
    ...extra,
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true, withFileTypes: true });
  return all.filter((d) => d.isFile()).map((d) => d.name);
}

describe("model download", () => {
  let server: Awaited<ReturnType<typeof startModelServer>>;
  let dir: string;
  const manifest: ModelManifest = {
    models: [entry("up", "upscale/up x4.onnx", UP), entry("enh", "enhance/enh.onnx", ENH)],
  };
  beforeAll(async () => {
    server = await startModelServer({ "upscale/up x4.onnx": UP, "enhance/enh.onnx": ENH });
  });
  afterAll(() => new Promise<void>((resolve) => server.server.close(() => resolve())));
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "imaging-fetch-"));
    server.hits.clear();
    server.behave.clear();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const registryFor = (m: ModelManifest, onDownloadProgress?: (p: DownloadProgress) => void) =>
    createModelRegistry({ manifest: m, modelDir: dir, source: createHttpModelSource(server.base), onDownloadProgress });

  it("downloads a missing file, verifies it, and serves it from the cache afterwards", async () => {
    const progress: number[] = [];
    const registry = registryFor(manifest, (p) => progress.push(p.receivedBytes));
    const file = await registry.resolve("up");
    expect(file).toBe(path.join(dir, "upscale/up x4.onnx"));
    expect((await readFile(file)).equals(UP)).toBe(true);
    expect(progress.at(-1)).toBe(UP.length);
    await registry.resolve("up");
    // A new registry (a restarted worker) finds the cached file and verifies it locally.
    await registryFor(manifest).resolve("up");
    expect(server.hits.get("upscale/up x4.onnx")).toBe(1);
    expect(await filesUnder(dir)).toEqual(["up x4.onnx"]);
  });

  it("downloads once for concurrent resolves of one file", async () => {
    const registry = registryFor(manifest);
    const paths = await Promise.all([1, 2, 3, 4].map(() => registry.resolve("enh")));
    expect(new Set(paths).size).toBe(1);
    expect(server.hits.get("enhance/enh.onnx")).toBe(1);
  });

  it("refuses a wrong checksum, naming the file and both hashes, and leaves nothing behind", async () => {
    const wrong = "0".repeat(64);
    const registry = registryFor({ models: [{ ...manifest.models[0]!, sha256: wrong }] });
    const err = (await registry.resolve("up").then(
      () => null,
      (e: unknown) => e,
    )) as Error;
    expect(err).toMatchObject({ code: "MODEL_UNAVAILABLE" });
    expect(err.message).toContain("upscale/up x4.onnx");
    expect(err.message).toContain(`expected sha256 ${wrong} but received ${sha256Hex(UP)}`);
    expect(await filesUnder(dir)).toEqual([]);
  });

  it.each([
    ["404", /does not have this file/],
    ["500", /HTTP 500/],
    ["cut", /up x4\.onnx/],
  ] as const)("fails on a %s response and leaves nothing behind", async (behaviour, message) => {
    server.behave.set("upscale/up x4.onnx", behaviour);
    const registry = registryFor(manifest);
    await expect(registry.resolve("up")).rejects.toThrow(message);
    expect(await filesUnder(dir)).toEqual([]);
    // The failure is not cached: once the server recovers, the next resolve downloads.
    server.behave.delete("upscale/up x4.onnx");
    await expect(registry.resolve("up")).resolves.toBe(path.join(dir, "upscale/up x4.onnx"));
  });

  it("uses the entry's own download URL when no source is configured", async () => {
    const own = { ...manifest.models[1]!, download: `${server.base}/enhance/enh.onnx` };
    const registry = createModelRegistry({ manifest: { models: [own] }, modelDir: dir });
    expect((await readFile(await registry.resolve("enh"))).equals(ENH)).toBe(true);
  });

  it("without a source, a missing file is an error that names the file and the variables", async () => {
    const registry = createModelRegistry({ manifest, modelDir: dir });
    await expect(registry.resolve("up")).rejects.toThrow(/up x4\.onnx.*IMAGEN_MODEL_DIR.*IMAGEN_MODEL_SOURCE/s);
    expect(server.hits.size).toBe(0);
  });
});

describe("parseModelSource", () => {
  it("parses http(s) bases and gs:// bucket prefixes into tagged values", () => {
    expect(parseModelSource(undefined)).toBeUndefined();
    expect(parseModelSource(" ")).toBeUndefined();
    expect(parseModelSource("https://cdn.example.com/models/")).toEqual({
      kind: "http",
      base: "https://cdn.example.com/models",
    });
    expect(parseModelSource("gs://imagen-models/prod/v1/")).toEqual({
      kind: "gcs",
      bucket: "imagen-models",
      prefix: "prod/v1",
    });
    expect(parseModelSource("gs://imagen-models")).toEqual({ kind: "gcs", bucket: "imagen-models", prefix: "" });
  });

  it.each(["ftp://x/y", "models", "gs://A_bad/x", "https://x/y?token=1"])("refuses %s naming the variable", (value) => {
    expect(() => parseModelSource(value)).toThrow(/^IMAGEN_MODEL_SOURCE: /);
  });

  it("needs a GCS factory for a gs:// spec", () => {
    const spec = { kind: "gcs", bucket: "b-1", prefix: "p" } as const;
    expect(() => createModelSource(spec)).toThrow(/needs a GCS model source/);
    const fake = { describe: (f: string) => `gs://b-1/p/${f}`, open: () => Promise.resolve(null) };
    expect(createModelSource(spec, { gcs: () => fake }).describe("a.onnx")).toBe("gs://b-1/p/a.onnx");
  });
});
