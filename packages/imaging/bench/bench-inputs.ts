/** What the per-op and the service sections share: where things are, the test photos, statistics. */
import { performance } from "node:perf_hooks";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

// These files run from bench/dist/; the repo root is four levels up, the package's photos two.
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export const PHOTOS = fileURLToPath(new URL("../../test/images/", import.meta.url));

/**
 * The photo resized (lanczos3, aspect kept) to about `mp` megapixels, or to `size` exactly, as a q90
 * jpeg; with `darken`, underexposed as `255·(v/255·0.35)^1.6` (the low-light recipe of the enhance tests).
 */
export async function makeInput(
  dir: string,
  photo: string,
  mp: number,
  darken = false,
  size?: { width: number; height: number },
): Promise<string> {
  const meta = await sharp(path.join(PHOTOS, photo)).metadata();
  const aspect = (meta.width ?? 1) / (meta.height ?? 1);
  const width = size?.width ?? Math.round(Math.sqrt(mp * 1e6 * aspect));
  const height = size?.height ?? Math.round(width / aspect);
  const file = path.join(dir, `${path.parse(photo).name}${darken ? "-dark" : ""}-${width}x${height}.jpg`);
  const resized = sharp(path.join(PHOTOS, photo))
    .removeAlpha()
    .resize(width, height, { kernel: "lanczos3", fit: "fill" });
  if (!darken) {
    await resized.jpeg({ quality: 90 }).toFile(file);
    return file;
  }
  const { data, info } = await resized.raw().toBuffer({ resolveWithObject: true });
  const curve = Uint8Array.from({ length: 256 }, (_, v) => Math.round(255 * ((v / 255) * 0.35) ** 1.6));
  for (let i = 0; i < data.length; i++) data[i] = curve[data[i]!]!;
  await sharp(data, { raw: info }).jpeg({ quality: 90 }).toFile(file);
  return file;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `p`-quantile (0..1) by nearest rank. */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Median with min and max: what every figure of the service section reports. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

export function formatSpread(s: Spread, digits = 0): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** A markdown table, columns padded. */
export function markdownTable(head: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

/** Milliseconds since `since` (a `performance.now()` reading). */
export function msSince(since: number): number {
  return performance.now() - since;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
