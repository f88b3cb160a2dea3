import {
  buildModel,
  type AttributeValue,
  type GraphInitializer,
  type GraphNode,
  type GraphValue,
  type ModelSpec,
} from "@imagen/onnx-graph";

// The writer lives in @imagen/onnx-graph so product code can build graphs without this dev-only
// package; these names keep the tiny-model API the tests were written against.
export type { AttributeValue };

/** A float32 graph input or output; `null` marks a dynamic dimension. */
export type TinyValue = GraphValue;

/** One graph node; attribute values are mapped to their ONNX attribute types. */
export type TinyNode = GraphNode;

/** A constant tensor baked into the graph. `int64` is for shape-like inputs (Resize sizes, axes). */
export type TinyInitializer = GraphInitializer;

/** A whole single-graph model. The opset defaults to 17, the one the shared models use. */
export type TinyModelSpec = ModelSpec;

/**
 * Serialises `spec` to ONNX bytes (IR 8), loadable by onnxruntime-node, with `@imagen/testing` as
 * the producer. Every value is float32 except `int64` initializers.
 */
export function buildTinyModel(spec: TinyModelSpec): Uint8Array {
  return buildModel({ producerName: "@imagen/testing", ...spec });
}
