export {
  buildModel,
  type AttributeValue,
  type ElementType,
  type GraphInitializer,
  type GraphNode,
  type GraphValue,
  type ModelSpec,
} from "./build-model.js";
export { createGraphBuilder, type GraphBuilder, type NodeOptions } from "./graph-builder.js";
export { describeModel, type ModelSummary } from "./describe-model.js";
