import { buildTinyModel, type TinyNode, type TinyInitializer } from "./build-model.js";

const IMAGE_IN = { name: "input", shape: [null, 3, "height", "width"] } as const;

/** Options of {@link tinyUpscaleModel}. */
export interface TinyUpscaleSpec {
  /** Output is `scale`× the input in both dimensions. Default 4. */
  scale?: number;
  /** Resize mode. `linear` gives each output pixel a neighbourhood, which exercises tile overlap. */
  mode?: "nearest" | "linear";
  /** `invert` outputs 1 − x, so a test can tell that the model ran. Default `identity`. */
  colour?: "identity" | "invert";
}

/**
 * An upscaler with the contract of the production Real-ESRGAN model: `input` float32
 * [N,3,H,W] RGB in [0,1], dynamic H/W, `output` [N,3,scale·H,scale·W].
 */
export function tinyUpscaleModel(spec: TinyUpscaleSpec = {}): Uint8Array {
  const scale = spec.scale ?? 4;
  const linear = spec.mode === "linear";
  const resizeOut = spec.colour === "invert" ? "resized" : "output";
  const nodes: TinyNode[] = [
    {
      op: "Resize",
      inputs: ["input", "", "scales"],
      outputs: [resizeOut],
      attributes: linear
        ? { mode: "linear", coordinate_transformation_mode: "half_pixel" }
        : { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" },
    },
  ];
  const initializers: TinyInitializer[] = [{ name: "scales", dims: [4], values: [1, 1, scale, scale] }];
  if (spec.colour === "invert") {
    nodes.push({ op: "Sub", inputs: ["one", "resized"], outputs: ["output"] });
    initializers.push({ name: "one", dims: [], values: [1] });
  }
  return buildTinyModel({
    name: `tiny-upscale-x${scale}`,
    inputs: [IMAGE_IN],
    outputs: [{ name: "output", shape: [null, 3, "out_height", "out_width"] }],
    nodes,
    initializers,
  });
}

/** Options of {@link tinyEnhanceModel}. */
export interface TinyEnhanceSpec {
  /** Multiplier applied to every value before clipping. Default 1.5. */
  gain?: number;
  /** Upper end of the value range: 1 for [0,1] models, 255 for [0,255] ones. Default 1. */
  rangeMax?: number;
  /** When above 1, the model fails unless H and W are multiples of it (like the real style nets). */
  multiple?: number;
}

/** A same-size image→image model: `output = clip(input · gain, 0, rangeMax)`, [N,3,H,W] both. */
export function tinyEnhanceModel(spec: TinyEnhanceSpec = {}): Uint8Array {
  const multiple = spec.multiple ?? 1;
  const guard = multipleGuard("input", "checked", multiple);
  return buildTinyModel({
    name: "tiny-enhance",
    inputs: [IMAGE_IN],
    outputs: [{ name: "output", shape: [null, 3, "height", "width"] }],
    nodes: [
      ...guard,
      { op: "Mul", inputs: [guard.length > 0 ? "checked" : "input", "gain"], outputs: ["scaled"] },
      { op: "Clip", inputs: ["scaled", "lo", "hi"], outputs: ["output"] },
    ],
    initializers: [
      { name: "gain", dims: [], values: [spec.gain ?? 1.5] },
      { name: "lo", dims: [], values: [0] },
      { name: "hi", dims: [], values: [spec.rangeMax ?? 1] },
    ],
  });
}

/**
 * A segmentation-shaped model like SINet: `input` [N,3,H,W] in [0,1] → `mask` [N,1,H,W], the mean
 * over the channels. H and W must be multiples of `multiple` (default 32), or the run fails.
 */
export function tinyMaskModel(spec: { multiple?: number } = {}): Uint8Array {
  const guard = multipleGuard("input", "checked", spec.multiple ?? 32);
  return buildTinyModel({
    name: "tiny-mask",
    inputs: [IMAGE_IN],
    outputs: [{ name: "mask", shape: [null, 1, "height", "width"] }],
    nodes: [
      ...guard,
      {
        op: "ReduceMean",
        inputs: [guard.length > 0 ? "checked" : "input"],
        outputs: ["mask"],
        attributes: { axes: [1], keepdims: 1 },
      },
    ],
  });
}

// SpaceToDepth rejects sizes that are not multiples of its block; DepthToSpace (DCR) undoes it exactly.
function multipleGuard(input: string, output: string, multiple: number): TinyNode[] {
  if (multiple <= 1) return [];
  return [
    { op: "SpaceToDepth", inputs: [input], outputs: [`${output}_s2d`], attributes: { blocksize: multiple } },
    {
      op: "DepthToSpace",
      inputs: [`${output}_s2d`],
      outputs: [output],
      attributes: { blocksize: multiple, mode: "DCR" },
    },
  ];
}

/**
 * A denoiser-shaped model like FFDNet: `input` [N,3,H,W] in [0,1] and `sigma` [N,1,1,1] (σ/255) →
 * `output = clip(input − sigma, 0, 1)`, so a test can tell which noise level reached the model.
 * H and W must be even, as FFDNet's.
 */
export function tinyDenoiseModel(): Uint8Array {
  const guard = multipleGuard("input", "checked", 2);
  return buildTinyModel({
    name: "tiny-denoise",
    inputs: [IMAGE_IN, { name: "sigma", shape: [null, 1, 1, 1] }],
    outputs: [{ name: "output", shape: [null, 3, "height", "width"] }],
    nodes: [
      ...guard,
      { op: "Sub", inputs: ["checked", "sigma"], outputs: ["shifted"] },
      { op: "Clip", inputs: ["shifted", "lo", "hi"], outputs: ["output"] },
    ],
    initializers: [
      { name: "lo", dims: [], values: [0] },
      { name: "hi", dims: [], values: [1] },
    ],
  });
}
