/**
 * `npm run models:build-comic [-- --check | --bench]`: writes the procedural comic graph to
 * `<repo>/models/comic/comic-ink.onnx` and prints its sha256 and size for the manifest. With
 * `--check`, writes nothing and exits 1 when the committed file differs from a fresh build; with
 * `--bench`, writes nothing and times the fresh graph on CPU, whole and in the contract's tiles.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { buildComicGraph, COMIC_CONTRACT, COMIC_MODEL_FILE, COMIC_RECEPTIVE_RADIUS } from "./comic-graph.js";
import { runImageToImage } from "./image-to-image.js";

/** The repo's model dir, from this file's location (packages/imaging/src or dist). */
const MODEL_DIR = fileURLToPath(new URL("../../../models/", import.meta.url));

async function main(args: string[]): Promise<number> {
  const target = path.join(MODEL_DIR, COMIC_MODEL_FILE);
  const bytes = buildComicGraph();
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (args.includes("--bench")) return bench(bytes);
  if (args.includes("--check")) {
    const committed = await readFile(target).catch(() => null);
    const same = committed !== null && Buffer.from(bytes).equals(committed);
    console.log(`${same ? "ok  " : "DIFF"} ${target} (fresh build sha256 ${sha256}, ${bytes.byteLength} bytes)`);
    return same ? 0 : 1;
  }
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, bytes);
  console.log(`wrote ${target}`);
  console.log(`sha256 ${sha256}`);
  console.log(`bytes ${bytes.byteLength}`);
  console.log(`receptive radius ${COMIC_RECEPTIVE_RADIUS} px; manifest entry fields:`);
  console.log(
    JSON.stringify({ file: COMIC_MODEL_FILE, sha256, bytes: bytes.byteLength, contract: COMIC_CONTRACT }, null, 2),
  );
  return 0;
}

/** Megapixels per second on a 1024² input after two warm-up runs: median and range of 7 runs. */
async function bench(bytes: Uint8Array): Promise<number> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: "all" });
  const side = 1024;
  const rgb = Buffer.from(Array.from({ length: side * side * 3 }, (_, i) => (i * 7919) % 251));
  const data = Float32Array.from({ length: 3 * side * side }, (_, i) => rgb[i]! / 255);
  const input = new ort.Tensor("float32", data, [1, 3, side, side]);
  const ctx = { signal: new AbortController().signal, onProgress: () => undefined };
  const runs = {
    whole: () => session.run({ input }),
    [`tiles ${COMIC_CONTRACT.tileSize}/${COMIC_CONTRACT.tileOverlap}`]: () =>
      runImageToImage(session, COMIC_CONTRACT, { rgb, width: side, height: side }, ctx),
  };
  for (const [name, run] of Object.entries(runs)) {
    const mps: number[] = [];
    for (let i = 0; i < 9; i++) {
      const started = performance.now();
      await run();
      if (i >= 2) mps.push((side * side) / 1e6 / ((performance.now() - started) / 1000));
    }
    mps.sort((a, b) => a - b);
    const f = (v: number | undefined): string => (v ?? 0).toFixed(2);
    console.log(`${name}: median ${f(mps[3])} MP/s (min ${f(mps[0])}, max ${f(mps[6])}) on ${side}×${side}`);
  }
  await session.release();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
