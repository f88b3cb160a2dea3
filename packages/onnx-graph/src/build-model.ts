import onnxProto from "onnx-proto";

// onnx-proto is CommonJS without named exports, so the namespace comes off the default export.
const { onnx } = onnxProto;

/**
 * Element types this writer emits: float32 for images and weights, int64 for shapes, pads and axes,
 * uint8 for 8-bit pixels fed as decoded.
 */
export type ElementType = "float" | "int64" | "uint8";

/** A graph input or output; `null` marks a dynamic dimension, a string names one. Float32 by default. */
export interface GraphValue {
  name: string;
  shape: readonly (number | string | null)[];
  type?: ElementType;
}

/**
 * An attribute value: integers become INT (int64), other numbers FLOAT, strings STRING (e.g. Pad's
 * `mode: "edge"`), arrays INTS. `{ float }` forces FLOAT for a whole-number float such as `1`, and
 * `{ floats }` makes FLOATS.
 */
export type AttributeValue = number | string | readonly number[] | { float: number } | { floats: readonly number[] };

/** One graph node; attribute values are mapped to their ONNX attribute types. */
export interface GraphNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Readonly<Record<string, AttributeValue>>;
  /** Node name; `<op>_<index>` when absent. */
  name?: string;
}

/** A constant tensor baked into the graph. `int64` is for shape-like inputs (Resize sizes, axes, pads). */
export interface GraphInitializer {
  name: string;
  dims: readonly number[];
  values: readonly number[];
  type?: ElementType;
}

/** A whole single-graph model. The opset defaults to 17, the one the shared models use. */
export interface ModelSpec {
  name: string;
  inputs: readonly GraphValue[];
  outputs: readonly GraphValue[];
  nodes: readonly GraphNode[];
  initializers?: readonly GraphInitializer[];
  opset?: number;
  /** Written as the model's producer; default `@imagen/onnx-graph`. */
  producerName?: string;
  /** The model's doc string: say what the graph is and where it comes from. */
  docString?: string;
  /** Model metadata (`metadata_props`), written in insertion order. */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * Serialises `spec` to ONNX bytes (IR 8), loadable by onnxruntime-node. The encoding is a pure
 * function of `spec` (no timestamps, fixed field order), so a rebuild gives identical bytes.
 */
export function buildModel(spec: ModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: spec.producerName ?? "@imagen/onnx-graph",
    opsetImport: [{ domain: "", version: spec.opset ?? 17 }],
    ...(spec.docString === undefined ? {} : { docString: spec.docString }),
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
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

const ELEMENT_TYPES = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  uint8: onnx.TensorProto.DataType.UINT8,
} as const;

function toValueInfo(value: GraphValue): onnxProto.onnx.IValueInfoProto {
  const dim = value.shape.map((d) =>
    typeof d === "number" ? { dimValue: d } : { dimParam: d ?? `${value.name}_dyn` },
  );
  return {
    name: value.name,
    type: { tensorType: { elemType: ELEMENT_TYPES[value.type ?? "float"], shape: { dim } } },
  };
}

function toNode(node: GraphNode, index: number): onnxProto.onnx.INodeProto {
  const attribute = Object.entries(node.attributes ?? {}).map(([name, value]) => toAttribute(name, value));
  return {
    name: node.name ?? `${node.op.toLowerCase()}_${index}`,
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
  if ("floats" in value) return { name, type: types.FLOATS, floats: [...value.floats] };
  const fraction = value.find((v) => !Number.isInteger(v));
  if (fraction !== undefined) {
    throw new RangeError(`Expected integers for INTS attribute ${name} but received ${fraction}; use { floats }`);
  }
  return { name, type: types.INTS, ints: [...value] };
}

function toTensor(init: GraphInitializer): onnxProto.onnx.ITensorProto {
  const count = init.dims.reduce((a, b) => a * b, 1);
  if (count !== init.values.length) {
    throw new RangeError(
      `Expected ${count} values for initializer ${init.name} [${init.dims.join(",")}] but received ${init.values.length}`,
    );
  }
  const types = onnx.TensorProto.DataType;
  if (init.type === "int64") {
    return { name: init.name, dims: [...init.dims], dataType: types.INT64, int64Data: [...init.values] };
  }
  if (init.type === "uint8") {
    // ONNX keeps uint8 values in int32_data.
    return { name: init.name, dims: [...init.dims], dataType: types.UINT8, int32Data: [...init.values] };
  }
  return { name: init.name, dims: [...init.dims], dataType: types.FLOAT, floatData: [...init.values] };
}
