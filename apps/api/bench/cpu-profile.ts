/**
 * Self time of a V8 `.cpuprofile` (as `node --cpu-prof` writes it), summed by function and by
 * where the code lives (a package of node_modules, a workspace package, node's internals, native).
 * Used by submit-load.ts --profile, and on its own: `node bench/dist/bench/profile-top.js <file>`.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  ms: number;
}

export interface ProfileSummary {
  totalMs: number;
  byFunction: SelfTime[];
  byPlace: SelfTime[];
}

/** Where code lives: `node_modules/<pkg>`, `@imagen/<pkg>` for the workspace, `node:` internals, or V8's own. */
export function placeOf(url: string): string {
  if (url === "") return "(native / V8)";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + "/node_modules/".length).split("/");
    return scope?.startsWith("@") ? `${scope}/${name}` : (scope ?? url);
  }
  const workspace = /\/(apps|packages)\/([^/]+)\//.exec(url);
  if (workspace) return `@imagen/${workspace[2]}`;
  if (url.startsWith("node:")) return "node: internals";
  return url;
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) return url.slice(modules + "/node_modules/".length);
  const workspace = /\/((?:apps|packages)\/.*)$/.exec(url);
  return workspace?.[1] ?? url;
}

function sorted(totals: Map<string, number>): SelfTime[] {
  return [...totals].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
}

/** Each sample lasts until the next one (the last one until the profile's end), as DevTools counts it. */
export function summariseProfile(profile: CpuProfile): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let at = profile.startTime;
  const times = profile.timeDeltas.map((d) => (at += d));
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = nodes.get(profile.samples[i]!);
    if (!node) continue;
    const us = (times[i + 1] ?? profile.endTime) - times[i]!;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = `${functionName || "(anonymous)"} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ""}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us / 1000);
    const place = placeOf(url);
    byPlace.set(place, (byPlace.get(place) ?? 0) + us / 1000);
  }
  return { totalMs: totalUs / 1000, byFunction: sorted(byFunction), byPlace: sorted(byPlace) };
}

/** Two markdown tables: the top `n` functions, then the top places, by self time. */
export function formatTopSelfTime(summary: ProfileSummary, n: number): string {
  const pct = (ms: number) => `${((100 * ms) / summary.totalMs).toFixed(1)}%`;
  const rows = (items: SelfTime[]) => items.slice(0, n).map((t) => `| ${pct(t.ms)} | ${t.ms.toFixed(0)} | ${t.name} |`);
  return [
    `total ${summary.totalMs.toFixed(0)} ms sampled`,
    "",
    "| self | ms | function |",
    "| ---: | ---: | --- |",
    ...rows(summary.byFunction),
    "",
    "| self | ms | where |",
    "| ---: | ---: | --- |",
    ...rows(summary.byPlace),
  ].join("\n");
}
