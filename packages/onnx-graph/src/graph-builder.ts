import {
  buildModel,
  type AttributeValue,
  type GraphInitializer,
  type GraphNode,
  type ModelSpec,
} from "./build-model.js";

/** Options of one {@link GraphBuilder.node} call. */
export interface NodeOptions {
  attributes?: Readonly<Record<string, AttributeValue>>;
  /** The output's name; `<hint>_<n>` (hint defaults to the op, lower case) when absent. */
  output?: string;
  /** Prefix of the generated output name, e.g. the pipeline stage. */
  hint?: string;
}

/**
 * Collects nodes and initializers of a single-output-per-node graph with generated, deterministic
 * names, so a procedural graph reads as a chain of calls: `const y = g.node("Exp", [x])`.
 */
export interface GraphBuilder {
  /** Adds a node with one output and returns the output's name. */
  node(op: string, inputs: readonly string[], options?: NodeOptions): string;
  /** A float32 constant of shape `dims` (`[]` for a scalar); returns its name. */
  floats(hint: string, dims: readonly number[], values: readonly number[]): string;
  /** A float32 scalar; equal values share one initializer. */
  scalar(value: number): string;
  /** A 1-D int64 constant (pads, axes, Slice bounds); equal lists share one initializer. */
  int64s(values: readonly number[]): string;
  readonly nodes: readonly GraphNode[];
  readonly initializers: readonly GraphInitializer[];
  /** Serialises the collected graph; see {@link buildModel}. */
  build(spec: Omit<ModelSpec, "nodes" | "initializers">): Uint8Array;
}

/** Creates an empty {@link GraphBuilder}. */
export function createGraphBuilder(): GraphBuilder {
  const nodes: GraphNode[] = [];
  const initializers: GraphInitializer[] = [];
  const shared = new Map<string, string>();
  const counts = new Map<string, number>();

  const fresh = (hint: string): string => {
    const n = counts.get(hint) ?? 0;
    counts.set(hint, n + 1);
    return `${hint}_${n}`;
  };
  const constant = (key: string, make: () => GraphInitializer): string => {
    let name = shared.get(key);
    if (name === undefined) {
      const init = make();
      initializers.push(init);
      name = init.name;
      shared.set(key, name);
    }
    return name;
  };

  return {
    nodes,
    initializers,
    node(op, inputs, options = {}) {
      const output = options.output ?? fresh(options.hint ?? op.toLowerCase());
      nodes.push({
        op,
        inputs,
        outputs: [output],
        ...(options.attributes ? { attributes: options.attributes } : {}),
        name: `${output}_node`,
      });
      return output;
    },
    floats(hint, dims, values) {
      const name = fresh(hint);
      initializers.push({ name, dims, values });
      return name;
    },
    scalar(value) {
      return constant(`f:${value}`, () => ({ name: fresh("const"), dims: [], values: [value] }));
    },
    int64s(values) {
      return constant(`i:${values.join(",")}`, () => ({
        name: fresh("ints"),
        dims: [values.length],
        values,
        type: "int64",
      }));
    },
    build(spec) {
      return buildModel({ ...spec, nodes, initializers });
    },
  };
}
