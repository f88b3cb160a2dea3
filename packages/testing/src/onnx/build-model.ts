import onnxProto from "onnx-proto";

// onnx-proto is CommonJS without named exports, so the namespace comes off the default export.
const { onnx } = onnxProto;

/** A float32 graph input or output; `null` marks a dynamic dimension. */
export interface TinyValue {
  name: string;
  shape: readonly (number | string | null)[];
}

/**
 * An attribute value: integers become INT, other numbers FLOAT, arrays INTS; `{ float }` forces FLOAT
 * for a whole-number float such as `1`.
 */
export type AttributeValue = number | string | readonly number[] | { float: number };

/** One graph node; attribute values are mapped to their ONNX attribute types. */
export interface TinyNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Readonly<Record<string, AttributeValue>>;
}

/** A constant tensor baked into the graph. `int64` is for shape-like inputs (Resize sizes, axes). */
export interface TinyInitializer {
  name: string;
  dims: readonly number[];
  values: readonly number[];
  type?: "float" | "int64";
}

/** A whole single-graph model. The opset defaults to 17, the one the shared models use. */
export interface TinyModelSpec {
  name: string;
  inputs: readonly TinyValue[];
  outputs: readonly TinyValue[];
  nodes: readonly TinyNode[];
  initializers?: readonly TinyInitializer[];
  opset?: number;
}

/**
 * Serialises `spec` to ONNX bytes (IR 8), loadable by onnxruntime-node. Every value is float32
 * except `int64` initializers.
 */
export function buildTinyModel(spec: TinyModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "@imagen/testing",
    opsetImport: [{ domain: "", version: spec.opset ?? 17 }],
    graph: {
      name: spec.name,
      input: spec.inputs.map(toValueInfo),
      output: spec.outputs.map(toValueInfo),
      node: spec.nodes.map(toNode),
      initializer: (spec.initializers ?? []).map(toTensor),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function toValueInfo(value: TinyValue): onnxProto.onnx.IValueInfoProto {
  const dim = value.shape.map((d) =>
    typeof d === "number" ? { dimValue: d } : { dimParam: d ?? `${value.name}_dyn` },
  );
  return {
    name: value.name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } },
  };
}

function toNode(node: TinyNode, index: number): onnxProto.onnx.INodeProto {
  const attribute = Object.entries(node.attributes ?? {}).map(([name, value]) => toAttribute(name, value));
  return {
    name: `${node.op.toLowerCase()}_${index}`,
    opType: node.op,
    input: [...node.inputs],
    output: [...node.outputs],
    attribute,
  };
}

function toAttribute(name: string, value: AttributeValue): onnxProto.onnx.IAttributeProto {
  const types = onnx.AttributeProto.AttributeType;
  if (typeof value === "string") {
    return { name, type: types.STRING, s: new TextEncoder().encode(value) };
  }
  if (typeof value === "number") {
    return Number.isInteger(value) ? { name, type: types.INT, i: value } : { name, type: types.FLOAT, f: value };
  }
  if ("float" in value) return { name, type: types.FLOAT, f: value.float };
  return { name, type: types.INTS, ints: [...value] };
}

function toTensor(init: TinyInitializer): onnxProto.onnx.ITensorProto {
  const types = onnx.TensorProto.DataType;
  if (init.type === "int64") {
    return { name: init.name, dims: [...init.dims], dataType: types.INT64, int64Data: [...init.values] };
  }
  return { name: init.name, dims: [...init.dims], dataType: types.FLOAT, floatData: [...init.values] };
}
