import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readManifest = (url: URL) => JSON.parse(readFileSync(url, "utf8")) as Manifest;
const manifest = readManifest(new URL("../package.json", import.meta.url));

/** Every workspace package of the repo by name. */
function workspaceManifests(): Map<string, Manifest> {
  const root = new URL("../../../", import.meta.url);
  const found = new Map<string, Manifest>();
  for (const dir of ["apps", "packages"]) {
    for (const name of readdirSync(new URL(dir, root))) {
      const file = new URL(`${dir}/${name}/package.json`, root);
      if (!existsSync(file)) continue;
      const workspace = readManifest(file);
      found.set(workspace.name, workspace);
    }
  }
  return found;
}

/** The runtime dependencies of `start`, following workspace packages (what `npm prune --omit=dev` keeps in the image). */
function runtimeClosure(start: Manifest, workspaces: Map<string, Manifest>): Set<string> {
  const seen = new Set<string>();
  const visit = (m: Manifest) => {
    for (const dep of Object.keys(m.dependencies ?? {})) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      const inner = workspaces.get(dep);
      if (inner) visit(inner);
    }
  };
  visit(start);
  return seen;
}

describe("the API's dependencies", () => {
  it("list no app: the worker runs as its own process, never inside the API's image or code", () => {
    const all = { ...manifest.dependencies, ...manifest.devDependencies };
    expect(Object.keys(all).filter((name) => name === "@imagen/worker" || name === "@imagen/api")).toEqual([]);
  });

  it("pick the backend through the shared selection package, not an adapter directly", () => {
    expect(Object.keys(manifest.dependencies ?? {})).toContain("@imagen/backends");
    expect(Object.keys(manifest.dependencies ?? {}).filter((name) => name.startsWith("@imagen/backend-"))).toEqual([]);
  });

  it("never reach onnxruntime-node or the imaging package, so the API image does not carry them", () => {
    const closure = runtimeClosure(manifest, workspaceManifests());
    expect(closure).toContain("@imagen/catalogue");
    expect([...closure].filter((name) => name === "onnxruntime-node" || name === "@imagen/imaging")).toEqual([]);
  });
});

// Everything apps/api/src/main.ts imports, from the build, in a fresh process.
const MAIN_IMPORTS = ["./app.js", "./embedded-worker.js", "./config.js"].map(
  (file) => new URL(`../dist/${file.slice(2)}`, import.meta.url).href,
);
const built = MAIN_IMPORTS.every((url) => existsSync(fileURLToPath(url)));

describe.runIf(built && process.platform === "linux")("the API process", () => {
  it("never loads onnxruntime: its imports of the imaging and backend packages stay on their light side", () => {
    const script = [
      ...MAIN_IMPORTS.map((url) => `await import(${JSON.stringify(url)});`),
      'await import("@imagen/backends");',
      'await import("@imagen/catalogue");',
      'const maps = (await import("node:fs")).readFileSync("/proc/self/maps", "utf8");',
      'process.stdout.write(String(maps.includes("onnxruntime")));',
    ].join("\n");
    const cwd = fileURLToPath(new URL("..", import.meta.url));
    const loaded = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd, encoding: "utf8" });
    expect(loaded).toBe("false");
  });
});
