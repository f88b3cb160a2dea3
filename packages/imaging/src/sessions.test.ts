import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { tinyEnhanceModel, writeTinyModel } from "@imagen/testing/onnx";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createSessionCache } from "./sessions.js";

const ortDir = path.dirname(createRequire(import.meta.url).resolve("onnxruntime-node"));
const hasCudaProvider = existsSync(path.join(ortDir, "../bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so"));

describe("createSessionCache", () => {
  let dir: string;
  let modelPath: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sessions-"));
    modelPath = (await writeTinyModel(dir, "enhance.onnx", tinyEnhanceModel())).path;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("returns one session per model path, also to concurrent callers", async () => {
    const cache = createSessionCache({ executionProvider: "cpu", intraOpNumThreads: 1 });
    const [a, b] = await Promise.all([cache.get(modelPath), cache.get(modelPath)]);
    expect(a).toBe(b);
    expect(await cache.get(modelPath)).toBe(a);
    expect(a.inputNames).toEqual(["input"]);
    await cache.close();
  });

  it("creates sessions with session.intra_op.allow_spinning = 0 (no spinning between steps)", async () => {
    const create = vi.spyOn(ort.InferenceSession, "create");
    const cache = createSessionCache({ executionProvider: "cpu", intraOpNumThreads: 2 });
    try {
      const session = await cache.get(modelPath);
      expect(session.inputNames).toEqual(["input"]);
      expect(create.mock.calls[0]?.[1]).toMatchObject({
        intraOpNumThreads: 2,
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      });
    } finally {
      create.mockRestore();
      await cache.close();
    }
  });

  it("fails with MODEL_UNAVAILABLE naming the file when the model cannot be loaded", async () => {
    const cache = createSessionCache({ executionProvider: "cpu" });
    const missing = path.join(dir, "missing.onnx");
    const err = await cache.get(missing).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MODEL_UNAVAILABLE" });
    expect((err as Error).message).toContain(missing);
    await cache.close();
  });

  // Without the CUDA provider library (the CPU-only install) asking for cuda must fail loudly.
  it.skipIf(hasCudaProvider)("fails naming the provider when cuda cannot load, never falling back to CPU", async () => {
    const cache = createSessionCache({ executionProvider: "cuda", deviceId: 0 });
    await expect(cache.get(modelPath)).rejects.toThrow(/execution provider cuda/);
    await cache.close();
  });
});
