import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { probeImage } from "@imagen/catalogue";
import { freePort, writeTestModels } from "@imagen/testing/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GOOD, writeGoodFolder, writeMixedFolder } from "./fixtures.js";
import {
  ANSI_ESCAPE,
  API_MAIN,
  built,
  CLI_MAIN,
  imagen,
  startApi,
  stopApi,
  WORKER_MAIN,
  type Running,
} from "./processes.js";

/** The built API with its embedded worker on the test models (`npm start`), `env` on top. */
async function serve(dir: string, env: Record<string, string> = {}): Promise<{ base: string; api: Running }> {
  const models = await writeTestModels(dir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const api = await startApi(base, {
    PORT: String(port),
    HOST: "127.0.0.1",
    IMAGEN_EMBEDDED_WORKER: "true",
    IMAGEN_MODEL_DIR: models.modelDir,
    IMAGEN_MODEL_MANIFEST: models.manifestPath,
    IMAGEN_DATA_DIR: path.join(dir, "data"),
    QUEUE_POLL_INTERVAL_MS: "50",
    WORKER_PROGRESS_INTERVAL_MS: "0",
    ...env,
  });
  return { base, api };
}

async function expectUpscaled(out: string, scale = 4): Promise<void> {
  for (const image of GOOD) {
    const result = await probeImage(await readFile(path.join(out, image.output)), { maxInputPixels: 1e8 });
    expect(result).toMatchObject({ format: image.format, width: image.width * scale, height: image.height * scale });
  }
}

describe.runIf(built(CLI_MAIN, API_MAIN, WORKER_MAIN))("imagen --api", () => {
  let dir: string;
  let open: { base: string; api: Running };
  let keyed: { base: string; api: Running };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "imagen-cli-api-"));
    open = await serve(path.join(dir, "open"));
    keyed = await serve(path.join(dir, "keyed"), { IMAGEN_API_KEYS: "ci:s3cret-key" });
  });
  afterAll(async () => {
    await stopApi(open?.api);
    await stopApi(keyed?.api);
    await rm(dir, { recursive: true, force: true });
  });

  it("runs a mixed folder as jobs: the same results and failures as in this process", async () => {
    const input = await writeMixedFolder(path.join(dir, "mixed"));
    const out = path.join(dir, "mixed-out");
    const run = await imagen(["upscale", input, "--api", open.base, "--out", out]);

    expect(run.status).toBe(1);
    await expectUpscaled(out);
    expect((await readdir(out)).sort()).toEqual(GOOD.map((g) => g.output).sort());
    const rows = run.stdout.split("\n");
    expect(rows).toContainEqual(expect.stringMatching(/^\S+fake\.png +failed .* UNSUPPORTED_IMAGE$/));
    expect(rows).toContainEqual(expect.stringMatching(/^\S+broken\.jpg +failed .* UNSUPPORTED_IMAGE$/));
    expect(run.stdout).toContain("upscale: 3 succeeded, 2 failed, 1 skipped in ");
    expect(run.stdout + run.stderr).not.toMatch(ANSI_ESCAPE);
  });

  it("lists, reads and cancels jobs, and lists the API's ops", async () => {
    const listed = await imagen(["jobs", "ls", "--json"], { env: { IMAGEN_API_URL: open.base } });
    expect(listed.status).toBe(0);
    const page = JSON.parse(listed.stdout) as { jobs: { id: string; status: string }[] };
    const done = page.jobs.find((j) => j.status === "succeeded");
    expect(done).toBeDefined();

    const got = await imagen(["jobs", "get", done!.id, "--api", open.base]);
    expect(got.status).toBe(0);
    expect(got.stdout).toMatch(new RegExp(`^result: +${open.base}/v1/jobs/${done!.id}/result$`, "m"));
    const cancel = await imagen(["jobs", "cancel", done!.id, "--api", open.base]);
    expect([cancel.status, cancel.stderr]).toEqual([1, expect.stringMatching(/^imagen: JOB_FINISHED /)]);
    const missing = await imagen(["jobs", "get", "no-such-job", "--api", open.base]);
    expect([missing.status, missing.stderr]).toEqual([1, expect.stringMatching(/^imagen: JOB_NOT_FOUND /)]);

    const ops = await imagen(["ops", "--api", open.base]);
    expect(ops.status).toBe(0);
    expect(ops.stdout).toMatch(/^ {4}tiny-upscale +default +tiny-upscale$/m);
  });

  it("sends --key (or IMAGEN_API_KEY) as a Bearer token; a wrong key fails once, UNAUTHENTICATED", async () => {
    const input = await writeGoodFolder(path.join(dir, "keyed-in"));
    const out = path.join(dir, "keyed-out");
    const ok = await imagen(["upscale", input, "--out", out, "--api", keyed.base, "--key", "s3cret-key"]);
    expect([ok.status, ok.stderr]).toEqual([0, ""]);
    await expectUpscaled(out);
    const fromEnv = await imagen(["jobs", "ls"], { env: { IMAGEN_API_URL: keyed.base, IMAGEN_API_KEY: "s3cret-key" } });
    expect(fromEnv.stdout.split("\n").filter((line) => line.includes(" upscale "))).toHaveLength(GOOD.length);

    const wrongOut = path.join(dir, "wrong-out");
    const wrong = await imagen(["upscale", input, "--out", wrongOut, "--api", keyed.base, "--key", "nope"]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^imagen: UNAUTHENTICATED /);
    await expect(readdir(wrongOut)).rejects.toMatchObject({ code: "ENOENT" });
    const none = await imagen(["jobs", "ls", "--api", keyed.base]);
    expect([none.status, none.stderr]).toEqual([1, expect.stringMatching(/^imagen: UNAUTHENTICATED /)]);
  });

  it("fails once with SERVICE_UNAVAILABLE when nothing listens at --api", async () => {
    const input = await writeGoodFolder(path.join(dir, "nobody-in"));
    const port = await freePort();
    const run = await imagen([
      "upscale",
      input,
      "--out",
      path.join(dir, "nobody"),
      "--api",
      `http://127.0.0.1:${port}`,
    ]);
    expect([run.status, run.stderr]).toEqual([
      1,
      expect.stringMatching(/^imagen: SERVICE_UNAVAILABLE Cannot reach Imagen/),
    ]);
  });
});
