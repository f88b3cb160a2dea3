import { describe, expect, it } from "vitest";
import { describeModel } from "./describe-model.js";
import { createGraphBuilder } from "./graph-builder.js";

describe("createGraphBuilder", () => {
  it("names outputs <hint>_<n> and keeps an explicit output name", () => {
    const g = createGraphBuilder();
    const a = g.node("Exp", ["input"]);
    const b = g.node("Exp", [a], { hint: "stage" });
    const c = g.node("Tanh", [b], { output: "output" });
    expect([a, b, c]).toEqual(["exp_0", "stage_0", "output"]);
    expect(g.nodes.map((n) => n.outputs[0])).toEqual(["exp_0", "stage_0", "output"]);
  });

  it("shares equal scalars and int64 lists, and keeps named float tensors apart", () => {
    const g = createGraphBuilder();
    expect(g.scalar(0.5)).toBe(g.scalar(0.5));
    expect(g.scalar(0.5)).not.toBe(g.scalar(1));
    expect(g.int64s([0, 1])).toBe(g.int64s([0, 1]));
    expect(g.floats("w", [2], [1, 2])).not.toBe(g.floats("w", [2], [1, 2]));
    expect(g.initializers.map((i) => [i.name, i.type ?? "float", i.dims])).toEqual([
      ["const_0", "float", []],
      ["const_1", "float", []],
      ["ints_0", "int64", [2]],
      ["w_0", "float", [2]],
      ["w_1", "float", [2]],
    ]);
  });

  it("builds a model from the collected nodes", () => {
    const g = createGraphBuilder();
    g.node("Mul", [g.node("Exp", ["input"]), g.scalar(2)], { output: "output" });
    const summary = describeModel(
      g.build({ name: "t", inputs: [{ name: "input", shape: [1] }], outputs: [{ name: "output", shape: [1] }] }),
    );
    expect(summary.ops).toEqual(["Exp", "Mul"]);
  });
});
