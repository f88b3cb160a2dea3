import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { buildModel, type ModelSpec } from "./build-model.js";
import { describeModel } from "./describe-model.js";

const { onnx } = onnxProto;

const SPEC: ModelSpec = {
  name: "pad-and-scale",
  inputs: [{ name: "input", shape: [1, 3, "height", null] }],
  outputs: [{ name: "output", shape: [1, 3, "out_h", "out_w"] }],
  nodes: [
    { op: "Pad", inputs: ["input", "pads"], outputs: ["padded"], attributes: { mode: "edge" } },
    { op: "Mul", inputs: ["padded", "gain"], outputs: ["output"] },
  ],
  initializers: [
    { name: "pads", dims: [8], values: [0, 0, 1, 1, 0, 0, 1, 1], type: "int64" },
    { name: "gain", dims: [], values: [0.5] },
  ],
  docString: "a test graph",
  metadata: { receptive_radius_px: "1" },
};

describe("buildModel", () => {
  it("writes inputs, outputs, ops, opset 17, doc string and metadata that read back", () => {
    const summary = describeModel(buildModel(SPEC));
    expect(summary).toEqual({
      producerName: "@imagen/onnx-graph",
      opsets: { "": 17 },
      inputs: [{ name: "input", shape: [1, 3, "height", "input_dyn"], type: "float" }],
      outputs: [{ name: "output", shape: [1, 3, "out_h", "out_w"], type: "float" }],
      ops: ["Pad", "Mul"],
      docString: "a test graph",
      metadata: { receptive_radius_px: "1" },
    });
  });

  it("gives identical bytes for an identical spec", () => {
    expect(Buffer.from(buildModel(SPEC)).equals(Buffer.from(buildModel(structuredClone(SPEC))))).toBe(true);
  });

  it("maps attribute values to INT, FLOAT, STRING, INTS and FLOATS", () => {
    const bytes = buildModel({
      ...SPEC,
      nodes: [
        {
          op: "Identity",
          inputs: ["input"],
          outputs: ["output"],
          attributes: { i: 3, f: 0.25, one: { float: 1 }, s: "edge", ints: [1, -2], floats: { floats: [0.5, 2] } },
        },
      ],
    });
    const attrs = onnx.ModelProto.decode(bytes).graph?.node?.[0]?.attribute ?? [];
    const types = onnx.AttributeProto.AttributeType;
    expect(attrs.map((a) => [a.name, a.type])).toEqual([
      ["i", types.INT],
      ["f", types.FLOAT],
      ["one", types.FLOAT],
      ["s", types.STRING],
      ["ints", types.INTS],
      ["floats", types.FLOATS],
    ]);
  });

  it("writes uint8 inputs and initializers (values in int32_data, as ONNX keeps them)", () => {
    const bytes = buildModel({
      ...SPEC,
      inputs: [{ name: "input", shape: [1, 2], type: "uint8" }],
      nodes: [{ op: "Add", inputs: ["input", "offset"], outputs: ["output"] }],
      initializers: [{ name: "offset", dims: [2], values: [7, 250], type: "uint8" }],
    });
    expect(describeModel(bytes).inputs).toEqual([{ name: "input", shape: [1, 2], type: "uint8" }]);
    const offset = onnx.ModelProto.decode(bytes).graph?.initializer?.[0];
    expect(offset?.dataType).toBe(onnx.TensorProto.DataType.UINT8);
    expect(offset?.int32Data).toEqual([7, 250]);
  });

  it("rejects an initializer whose values do not fill its dims", () => {
    expect(() => buildModel({ ...SPEC, initializers: [{ name: "gain", dims: [2, 2], values: [1, 2, 3] }] })).toThrow(
      "Expected 4 values for initializer gain [2,2] but received 3",
    );
  });

  it("rejects fractions in an INTS attribute", () => {
    const node = { op: "Identity", inputs: ["input"], outputs: ["output"], attributes: { axes: [1, 1.5] } };
    expect(() => buildModel({ ...SPEC, nodes: [node] })).toThrow("use { floats }");
  });
});
