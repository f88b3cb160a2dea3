import * as ort from "onnxruntime-node";
import { createGraphBuilder, type GraphBuilder } from "@imagen/onnx-graph";
import type { GuidedCoefficients, RgbGuide } from "./guided-filter.js";
import type { GraphSessions } from "./sessions.js";

const GUIDE = "guide";
const INPUT = "input";
const OUTPUT = "coefficients";

/**
 * Builds the colour guided filter's coefficient step (He et al., "Guided Image Filtering", eq. 14)
 * as an ONNX graph: `guide` uint8 [1,H,W,3] (RGB, HWC, as decoded), `input` float32 [1,1,H,W] in
 * [0,1], to `coefficients` float32 [1,4,H,W]: a_r, a_g, a_b and b, box-averaged, for guide values in
 * [0,1]. Every box mean is over the (2r+1)² box clipped at the borders (two separable average
 * pools that do not count the padding). `radius` is an attribute of the pools, so each radius is
 * its own graph. ONNX Runtime runs it on all its intra-op threads, in float32: the coefficients
 * agree with the float64 reference to within 5e-5 of their size (of 5e-5 below 1).
 */
export function buildGuidedCoefficientsGraph(radius: number, eps: number): Uint8Array {
  if (!Number.isInteger(radius) || radius < 1) throw new RangeError(`Expected a radius ≥ 1 but received ${radius}`);
  const g = createGraphBuilder();
  const unit = g.node("Mul", [g.node("Cast", [GUIDE], { attributes: { to: 1 } }), g.scalar(1 / 255)]);
  const rgb = g.node("Transpose", [unit], { attributes: { perm: [0, 3, 1, 2] }, hint: "guide_nchw" });
  const [r, gr, b] = [0, 1, 2].map((c) => channel(g, rgb, c)) as [string, string, string];
  const p = INPUT;
  const mul = (x: string, y: string): string => g.node("Mul", [x, y]);
  const sub = (x: string, y: string): string => g.node("Sub", [x, y]);
  const add = (x: string, y: string): string => g.node("Add", [x, y]);
  // The thirteen statistics: r, g, b, p, then rr, rg, rb, gg, gb, bb, then pr, pg, pb.
  const products = [
    mul(r, r),
    mul(r, gr),
    mul(r, b),
    mul(gr, gr),
    mul(gr, b),
    mul(b, b),
    mul(p, r),
    mul(p, gr),
    mul(p, b),
  ];
  const stats = g.node("Concat", [r, gr, b, p, ...products], { attributes: { axis: 1 }, hint: "stats" });
  const means = boxMean(g, stats, radius);
  const [mr, mg, mb, mp, rr, rg, rb, gg, gb, bb, pr, pg, pb] = Array.from({ length: 13 }, (_, c) =>
    channel(g, means, c),
  ) as [string, string, string, string, string, string, string, string, string, string, string, string, string];
  const e = g.scalar(eps);
  // Σ + eps·I (symmetric) and cov(I, p).
  const s00 = add(sub(rr, mul(mr, mr)), e);
  const s01 = sub(rg, mul(mr, mg));
  const s02 = sub(rb, mul(mr, mb));
  const s11 = add(sub(gg, mul(mg, mg)), e);
  const s12 = sub(gb, mul(mg, mb));
  const s22 = add(sub(bb, mul(mb, mb)), e);
  const c0 = sub(pr, mul(mr, mp));
  const c1 = sub(pg, mul(mg, mp));
  const c2 = sub(pb, mul(mb, mp));
  // a = (Σ + eps·I)⁻¹·cov by cofactors, as the float64 version does.
  const k00 = sub(mul(s11, s22), mul(s12, s12));
  const k01 = sub(mul(s02, s12), mul(s01, s22));
  const k02 = sub(mul(s01, s12), mul(s02, s11));
  const k11 = sub(mul(s00, s22), mul(s02, s02));
  const k12 = sub(mul(s02, s01), mul(s00, s12));
  const k22 = sub(mul(s00, s11), mul(s01, s01));
  const inverseDet = g.node("Reciprocal", [add(add(mul(s00, k00), mul(s01, k01)), mul(s02, k02))]);
  const dot = (x: string, y: string, z: string): string =>
    mul(add(add(mul(x, c0), mul(y, c1)), mul(z, c2)), inverseDet);
  const a0 = dot(k00, k01, k02);
  const a1 = dot(k01, k11, k12);
  const a2 = dot(k02, k12, k22);
  const b0 = sub(sub(sub(mp, mul(a0, mr)), mul(a1, mg)), mul(a2, mb));
  const local = g.node("Concat", [a0, a1, a2, b0], { attributes: { axis: 1 }, hint: "local" });
  g.node("Identity", [boxMean(g, local, radius)], { output: OUTPUT });
  return g.build({
    name: "guided-filter-coefficients",
    inputs: [
      { name: GUIDE, type: "uint8", shape: [1, "height", "width", 3] },
      { name: INPUT, shape: [1, 1, "height", "width"] },
    ],
    outputs: [{ name: OUTPUT, shape: [1, 4, "height", "width"] }],
    docString: `Colour guided-filter coefficients, box radius ${radius}, eps ${eps}. Written by packages/imaging/src/guided-filter-graph.ts.`,
  });
}

/** Mean over the border-clipped (2r+1)² box of every channel: a row pool, then a column pool. */
function boxMean(g: GraphBuilder, x: string, radius: number): string {
  const k = 2 * radius + 1;
  const pool = (kernel: number[], pads: number[], from: string): string =>
    g.node("AveragePool", [from], { attributes: { kernel_shape: kernel, pads, count_include_pad: 0 }, hint: "box" });
  return pool([k, 1], [radius, 0, radius, 0], pool([1, k], [0, radius, 0, radius], x));
}

function channel(g: GraphBuilder, x: string, c: number): string {
  return g.node("Slice", [x, g.int64s([c]), g.int64s([c + 1]), g.int64s([1])], { hint: "channel" });
}

/**
 * The guided filter's coefficients for filtering `input` (values in [0,1], the guide's size) by
 * `guide`, computed by the graph above in `sessions` (one per radius and eps, built on first use).
 * `radius` is the box radius in pixels; `eps` the guide variance below which detail counts as flat.
 */
export async function guidedCoefficients(
  sessions: GraphSessions,
  guide: RgbGuide,
  input: Float32Array,
  radius: number,
  eps: number,
): Promise<GuidedCoefficients> {
  const { width, height } = guide;
  const session = await sessions.graph(`guided-filter r${radius} eps${eps}`, () =>
    buildGuidedCoefficientsGraph(radius, eps),
  );
  const feeds = {
    [GUIDE]: new ort.Tensor("uint8", guide.rgb, [1, height, width, 3]),
    [INPUT]: new ort.Tensor("float32", input, [1, 1, height, width]),
  };
  const data = (await session.run(feeds))[OUTPUT]!.data as Float32Array;
  const n = width * height;
  const plane = (c: number): Float32Array => data.subarray(c * n, (c + 1) * n);
  return { planes: [plane(0), plane(1), plane(2), plane(3)], width, height };
}
