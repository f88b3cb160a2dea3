import { readFileSync } from "node:fs";
import { CONFIG_SOURCES, readEnvExample } from "@imagen/testing/stack";
import { describe, expect, it } from "vitest";
import { loadApiConfig } from "./config.js";

describe("loadApiConfig", () => {
  it("listens on 8080 without an embedded worker by default", () => {
    const config = loadApiConfig({});
    expect(config.port).toBe(8080);
    expect(config.embeddedWorker).toBe(false);
    expect(config.limits.maxUploadBytes).toBe(25 * 1024 * 1024);
    expect(config.backend).toMatchObject({ kind: "local", dataDir: expect.stringMatching(/\.imagen$/) as unknown });
  });

  it("reads booleans strictly", () => {
    expect(loadApiConfig({ IMAGEN_EMBEDDED_WORKER: "true" }).embeddedWorker).toBe(true);
    expect(() => loadApiConfig({ IMAGEN_EMBEDDED_WORKER: "yes" })).toThrow(/IMAGEN_EMBEDDED_WORKER/);
  });

  it("names a bad port and a bad limit", () => {
    expect(() => loadApiConfig({ PORT: "80a", MAX_UPLOAD_BYTES: "-1" })).toThrow(/PORT[\s\S]*MAX_UPLOAD_BYTES/);
  });

  it("accepts what npm start sets", () => {
    const start = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      scripts: Record<string, string>;
    };
    const assignments = Object.fromEntries(
      [...(start.scripts.start ?? "").matchAll(/(\w+)=(\S+)/g)].map((m): [string, string] => [m[1] ?? "", m[2] ?? ""]),
    );
    expect(assignments).toHaveProperty("IMAGEN_EMBEDDED_WORKER", "true");
    expect(loadApiConfig(assignments).embeddedWorker).toBe(true);
  });
});

describe(".env.example", () => {
  // The worker's own config test reads the same file with its loader.
  it("lists every variable with a value the API accepts, and every variable either app reads", () => {
    const { text, env } = readEnvExample();
    expect(loadApiConfig(env)).toMatchObject({ port: 8080, embeddedWorker: false });
    const documented = new Set(text.match(/^#? ?[A-Z][A-Z0-9_]+(?==)/gm)?.map((name) => name.replace(/^# ?/, "")));
    const read = CONFIG_SOURCES.flatMap((file) =>
      [...readFileSync(new URL(`../../../${file}`, import.meta.url), "utf8").matchAll(/\(\s*"([A-Z][A-Z0-9_]+)"/g)].map(
        (m) => m[1],
      ),
    );
    expect(read.filter((name) => !documented.has(name ?? ""))).toEqual([]);
  });
});
