/** Byte counts as a person reads them: SI units, three significant digits (`12.3 kB`). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = "B";
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ${unit}`;
}

/** A duration: milliseconds below a second, else seconds with one decimal. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatPixels(image: { width: number; height: number }): string {
  return `${image.width}×${image.height}`;
}

/** `a → b`, or what is known of it (a failed file has no output). */
export function formatChange(from: string | undefined, to: string | undefined): string {
  if (from === undefined && to === undefined) return "";
  return `${from ?? "?"} → ${to ?? "?"}`;
}
