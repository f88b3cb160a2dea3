import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { probeImage } from "@imagen/catalogue";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { jobClient } from "./job-client.js";
import {
  API_MAIN,
  freePort,
  REPO_ROOT,
  reportOutput,
  startProcess,
  stopProcess,
  waitUntilReady,
  type Running,
} from "./processes.js";

const PHOTOS = path.join(REPO_ROOT, "packages/imaging/test/images");

// `npm start` as a new user runs it: the built API with its embedded worker, in the repo root, with
// no model settings at all, so every model comes from the clone's models/ folder.
describe.runIf(existsSync(API_MAIN))("a fresh clone: npm start runs every op with the models in the clone", () => {
  let dir: string;
  let api: Running;
  let base: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "imagen-fresh-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    api = startProcess(
      API_MAIN,
      {
        PORT: String(port),
        HOST: "127.0.0.1",
        IMAGEN_EMBEDDED_WORKER: "true",
        IMAGEN_DATA_DIR: path.join(dir, "data"),
      },
      REPO_ROOT,
    );
    await waitUntilReady(`${base}/readyz`, api, 120_000);
  }, 130_000);
  let failed = false;
  afterEach(({ task }) => {
    if (task.result?.state === "fail") failed = true;
  });
  afterAll(async () => {
    reportOutput(failed, [api]);
    await stopProcess(api);
    await rm(dir, { recursive: true, force: true });
  });

  it("lists every op as available", async () => {
    const { ops } = (await (await fetch(`${base}/v1/ops`)).json()) as { ops: { name: string; available: boolean }[] };
    expect(ops.map((o) => [o.name, o.available])).toEqual([
      ["upscale", true],
      ["enhance", true],
      ["comic", true],
      ["background-removal", true],
    ]);
  });

  it.each([
    ["upscale", "cat-chelsea-451x300.png", 4],
    ["enhance", "coffee-600x400.png", 1],
    ["comic", "portrait-astronaut-512x512.png", 1],
    ["background-removal", "cat-chelsea-451x300.png", 1],
  ] as const)(
    "%s on an ordinary photo succeeds with the default models",
    async (op, photo, scale) => {
      const client = jobClient(base);
      const file = await readFile(path.join(PHOTOS, photo));
      const { width, height } = await probeImage(file, { maxInputPixels: 1e7 });
      const submitted = await client.submit(file, op);
      const done = await client.waitFor(
        submitted.id,
        (j) => j.status === "succeeded" || j.status === "failed",
        120_000,
      );
      expect(done.error).toBeNull();
      expect(done.output).toMatchObject({ width: width * scale, height: height * scale });
      const result = await fetch(`${base}${done.output!.url}`);
      expect(result.status).toBe(200);
      const meta = await probeImage(Buffer.from(await result.arrayBuffer()), { maxInputPixels: 1e8 });
      expect([meta.width, meta.height]).toEqual([width * scale, height * scale]);
      if (op === "background-removal") expect(meta.hasAlpha).toBe(true);
    },
    130_000,
  );
});
