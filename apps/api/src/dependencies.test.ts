import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};

describe("the API's dependencies", () => {
  it("list no app: the worker runs as its own process, never inside the API's image or code", () => {
    const all = { ...manifest.dependencies, ...manifest.devDependencies };
    expect(Object.keys(all).filter((name) => name === "@imagen/worker" || name === "@imagen/api")).toEqual([]);
  });

  it("pick the backend through the shared selection package, not an adapter directly", () => {
    expect(Object.keys(manifest.dependencies ?? {})).toContain("@imagen/backends");
    expect(Object.keys(manifest.dependencies ?? {}).filter((name) => name.startsWith("@imagen/backend-"))).toEqual([]);
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
      'await import("@imagen/imaging/catalogue");',
      'const maps = (await import("node:fs")).readFileSync("/proc/self/maps", "utf8");',
      'process.stdout.write(String(maps.includes("onnxruntime")));',
    ].join("\n");
    const cwd = fileURLToPath(new URL("..", import.meta.url));
    const loaded = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd, encoding: "utf8" });
    expect(loaded).toBe("false");
  });
});
