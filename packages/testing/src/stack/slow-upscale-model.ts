import { buildTinyModel } from "../onnx/index.js";

/**
 * An upscaler with the production contract whose cost is real: a `channels`×k×k convolution with
 * zero weights is added to the input before a nearest ×`scale` resize, so the output equals a plain
 * resize while every pixel costs about 3·k²·channels multiply-adds. Used where a test needs a job
 * to be mid-run for a while (cancel, crash, shutdown).
 */
export interface SlowUpscaleSpec {
  scale?: number;
  /** Feature channels of the costly convolution (default 32). */
  channels?: number;
  /** Its kernel side (default 9): the cost grows with channels × kernel². */
  kernel?: number;
}

export function slowUpscaleModel(spec: SlowUpscaleSpec = {}): Uint8Array {
  const scale = spec.scale ?? 4;
  const channels = spec.channels ?? 32;
  const kernel = spec.kernel ?? 9;
  const pad = Math.floor(kernel / 2);
  return buildTinyModel({
    name: `slow-upscale-x${scale}`,
    inputs: [{ name: "input", shape: [null, 3, "height", "width"] }],
    outputs: [{ name: "output", shape: [null, 3, "out_height", "out_width"] }],
    nodes: [
      {
        op: "Conv",
        inputs: ["input", "w1"],
        outputs: ["features"],
        attributes: { kernel_shape: [kernel, kernel], pads: [pad, pad, pad, pad] },
      },
      { op: "Conv", inputs: ["features", "w2"], outputs: ["residual"], attributes: { kernel_shape: [1, 1] } },
      { op: "Add", inputs: ["input", "residual"], outputs: ["sum"] },
      {
        op: "Resize",
        inputs: ["sum", "", "scales"],
        outputs: ["output"],
        attributes: { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" },
      },
    ],
    initializers: [
      {
        name: "w1",
        dims: [channels, 3, kernel, kernel],
        values: new Array<number>(channels * 3 * kernel * kernel).fill(0),
      },
      { name: "w2", dims: [3, channels, 1, 1], values: new Array<number>(3 * channels).fill(0) },
      { name: "scales", dims: [4], values: [1, 1, scale, scale] },
    ],
  });
}
