import onnxProto from "onnx-proto";
import type { ElementType, GraphValue } from "./build-model.js";

const { onnx } = onnxProto;

/** What a model file declares: enough to check a model against its contract without running it. */
export interface ModelSummary {
  producerName: string;
  /** Opset version per domain (`""` is the standard ONNX domain). */
  opsets: Readonly<Record<string, number>>;
  inputs: GraphValue[];
  outputs: GraphValue[];
  /** The op type of every node, in graph order; `domain::op` outside the standard domain. */
  ops: string[];
  docString: string;
  metadata: Record<string, string>;
}

const ELEMENT_NAMES = new Map<number, ElementType>([
  [onnx.TensorProto.DataType.FLOAT, "float"],
  [onnx.TensorProto.DataType.INT64, "int64"],
  [onnx.TensorProto.DataType.UINT8, "uint8"],
]);

/**
 * Decodes ONNX bytes into a {@link ModelSummary}. Dimensions come back as numbers or their
 * symbolic names; an element type this writer does not emit is an error naming it.
 */
export function describeModel(bytes: Uint8Array): ModelSummary {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph ?? {};
  return {
    producerName: model.producerName,
    opsets: Object.fromEntries(model.opsetImport.map((o) => [o.domain ?? "", Number(o.version)])),
    inputs: (graph.input ?? []).map(fromValueInfo),
    outputs: (graph.output ?? []).map(fromValueInfo),
    ops: (graph.node ?? []).map((n) => (n.domain ? `${n.domain}::${n.opType ?? ""}` : (n.opType ?? ""))),
    docString: model.docString,
    metadata: Object.fromEntries(model.metadataProps.map((p) => [p.key ?? "", p.value ?? ""])),
  };
}

function fromValueInfo(value: onnxProto.onnx.IValueInfoProto): GraphValue {
  const tensor = value.type?.tensorType;
  const elemType = tensor?.elemType ?? 0;
  const type = ELEMENT_NAMES.get(elemType);
  if (type === undefined) {
    throw new RangeError(
      `Expected a float, int64 or uint8 tensor for ${value.name} but received element type ${elemType}`,
    );
  }
  const shape = (tensor?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
  return { name: value.name ?? "", shape, type };
}
