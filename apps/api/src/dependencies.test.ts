import { readFileSync } from "node:fs";
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
