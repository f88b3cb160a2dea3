import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { sha256Hex, tinyEnhanceModel, tinyMaskModel, tinyUpscaleModel, writeTinyModel } from "./index.js";

async function run(bytes: Uint8Array, dims: readonly number[], fill = 0.4): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  const size = dims.reduce((a, b) => a * b, 1);
  const input = new ort.Tensor("float32", new Float32Array(size).fill(fill), dims);
  const result = await session.run({ [session.inputNames[0] ?? "input"]: input });
  await session.release();
  const output = result[session.outputNames[0] ?? "output"];
  if (!output) throw new Error("model produced no output");
  return output;
}

describe("tiny ONNX models", () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it("upscale: input → output [N,3,4H,4W] with dynamic H/W", async () => {
    const session = await ort.InferenceSession.create(tinyUpscaleModel({ scale: 4 }));
    expect([session.inputNames, session.outputNames]).toEqual([["input"], ["output"]]);
    await session.release();
    const out = await run(tinyUpscaleModel({ scale: 4 }), [1, 3, 5, 7]);
    expect(out.dims).toEqual([1, 3, 20, 28]);
    expect((out.data as Float32Array)[0]).toBeCloseTo(0.4);
  });

  it("upscale: linear mode and the invert colour change", async () => {
    const out = await run(tinyUpscaleModel({ scale: 2, mode: "linear", colour: "invert" }), [1, 3, 6, 4]);
    expect(out.dims).toEqual([1, 3, 12, 8]);
    expect((out.data as Float32Array)[5]).toBeCloseTo(0.6);
  });

  it("enhance: same size, clip(x·1.5, 0, 1)", async () => {
    const out = await run(tinyEnhanceModel(), [1, 3, 9, 11], 0.8);
    expect(out.dims).toEqual([1, 3, 9, 11]);
    expect((out.data as Float32Array)[0]).toBeCloseTo(1);
  });

  it("enhance: a [0,255] variant that demands multiples of 4", async () => {
    const model = tinyEnhanceModel({ gain: 2, rangeMax: 255, multiple: 4 });
    expect((await run(model, [1, 3, 8, 12], 100)).data[0]).toBeCloseTo(200);
    await expect(run(model, [1, 3, 9, 12], 100)).rejects.toThrow();
  });

  it("mask: input → mask [N,1,H,W], refusing sizes that are not multiples of 32", async () => {
    const out = await run(tinyMaskModel({ multiple: 32 }), [1, 3, 64, 32], 0.25);
    expect(out.dims).toEqual([1, 1, 64, 32]);
    expect((out.data as Float32Array)[0]).toBeCloseTo(0.25);
    await expect(run(tinyMaskModel({ multiple: 32 }), [1, 3, 48, 32])).rejects.toThrow();
  });

  it("writes a model file with its sha256 and size", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "tiny-onnx-"));
    dirs.push(dir);
    const bytes = tinyUpscaleModel();
    const written = await writeTinyModel(dir, "upscale/tiny.onnx", bytes);
    expect(written.path).toBe(path.join(dir, "upscale/tiny.onnx"));
    expect(sha256Hex(await readFile(written.path))).toBe(written.sha256);
    expect(written.bytes).toBe(bytes.byteLength);
  });
});
