import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const PACKAGE_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * Runs `body` in a fresh Node process that imports the built `@imagen/backends` (as the API and the
 * worker do), then prints the Google Cloud SDK packages it loaded. They are CommonJS, so every one
 * that was imported is in the CommonJS module cache.
 */
async function googleSdksLoadedBy(body: string, env: Record<string, string>): Promise<string[]> {
  const script = `
    import { createRequire } from "node:module";
    import { createLogger, EnvReader } from "@imagen/core";
    import * as backends from "@imagen/backends";
    const env = new EnvReader(process.env);
    const log = createLogger({ service: "sdk-loading-test", level: "silent" });
    ${body}
    const loaded = Object.keys(createRequire(import.meta.url).cache)
      .map((file) => /node_modules\\/(@google-cloud\\/[^/]+)\\//.exec(file)?.[1])
      .filter(Boolean);
    console.log(JSON.stringify([...new Set(loaded)].sort()));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    cwd: PACKAGE_DIR,
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "[]") as string[];
}

describe("the Google Cloud SDKs", () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "imagen-backends-"));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("are not loaded by a process on the local backend with an https model source", async () => {
    const loaded = await googleSdksLoadedBy(
      `
      const config = backends.readBackendConfig(env);
      env.done();
      const backend = await backends.createBackend(config, log);
      await backends.modelSourceFor({ kind: "http", base: "https://models.example" }, config);
      await backend.close();
      `,
      { IMAGEN_BACKEND: "local", IMAGEN_DATA_DIR: dataDir },
    );
    expect(loaded).toEqual([]);
  });

  it("come down to the Cloud Storage one for a gs:// model source on the local backend", async () => {
    const loaded = await googleSdksLoadedBy(
      `
      const config = backends.readBackendConfig(env);
      env.done();
      await backends.modelSourceFor({ kind: "gcs", bucket: "models", prefix: "v1" }, config);
      `,
      { IMAGEN_BACKEND: "local", IMAGEN_DATA_DIR: dataDir },
    );
    expect(loaded).toEqual(["@google-cloud/storage"]);
  });
});
