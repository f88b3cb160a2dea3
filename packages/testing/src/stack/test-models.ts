import { writeFile } from "node:fs/promises";
import * as path from "node:path";
import {
  tinyDenoiseModel,
  tinyEnhanceModel,
  tinyMaskModel,
  tinyUpscaleModel,
  writeTinyModel,
  type WrittenModel,
} from "../onnx/index.js";
import { slowUpscaleModel, type SlowUpscaleSpec } from "./slow-upscale-model.js";

export interface TestModels {
  modelDir: string;
  manifestPath: string;
}

interface Contract {
  range: [number, number];
  scale: number;
  multiple: number;
  tileSize: number;
  tileOverlap: number;
  output?: string;
  noiseInput?: string;
}

function entry(id: string, op: string, written: WrittenModel, contract: Contract, extra: { role?: string } = {}) {
  return {
    id,
    op,
    label: id,
    ...extra,
    default: true,
    file: written.file,
    sha256: written.sha256,
    bytes: written.bytes,
    source: { url: `https://example.invalid/models/${written.file}`, licence: "MIT" },
    contract: {
      input: "input",
      output: contract.output ?? "output",
      layout: "NCHW",
      channels: "RGB",
      clamp: true,
      ...contract,
    },
  };
}

/**
 * Writes a model dir and a manifest in the production format, with a tiny model per op (same
 * input/output contract as the real ones). `slowUpscale` swaps in {@link slowUpscaleModel} so an
 * upscale job stays mid-run long enough to be canceled or killed (a spec makes it slower still).
 */
export async function writeTestModels(
  dir: string,
  options: { slowUpscale?: boolean | SlowUpscaleSpec } = {},
): Promise<TestModels> {
  const modelDir = path.join(dir, "models");
  const { slowUpscale } = options;
  const upscale = slowUpscale
    ? slowUpscaleModel(slowUpscale === true ? {} : slowUpscale)
    : tinyUpscaleModel({ scale: 4, mode: "linear" });
  const models = [
    entry("tiny-upscale", "upscale", await writeTinyModel(modelDir, "upscale/tiny.onnx", upscale), {
      range: [0, 1],
      scale: 4,
      multiple: 1,
      tileSize: 64,
      tileOverlap: 4,
    }),
    entry("tiny-enhance", "enhance", await writeTinyModel(modelDir, "enhance/tiny.onnx", tinyEnhanceModel()), {
      range: [0, 1],
      scale: 1,
      multiple: 1,
      tileSize: 128,
      tileOverlap: 0,
    }),
    entry(
      "tiny-denoise",
      "enhance",
      await writeTinyModel(modelDir, "enhance/tiny-denoise.onnx", tinyDenoiseModel()),
      { range: [0, 1], scale: 1, multiple: 2, tileSize: 128, tileOverlap: 0, noiseInput: "sigma" },
      { role: "denoise" },
    ),
    entry(
      "tiny-comic",
      "comic",
      await writeTinyModel(modelDir, "comic/tiny.onnx", tinyEnhanceModel({ gain: 0.8, rangeMax: 255, multiple: 4 })),
      { range: [0, 255], scale: 1, multiple: 4, tileSize: 128, tileOverlap: 8 },
    ),
    entry(
      "tiny-mask",
      "background-removal",
      await writeTinyModel(modelDir, "background/tiny.onnx", tinyMaskModel({ multiple: 32 })),
      { range: [0, 1], scale: 1, multiple: 32, tileSize: 320, tileOverlap: 0, output: "mask" },
    ),
  ];
  const manifestPath = path.join(dir, "manifest.json");
  await writeFile(manifestPath, JSON.stringify({ models }, null, 2));
  return { modelDir, manifestPath };
}
