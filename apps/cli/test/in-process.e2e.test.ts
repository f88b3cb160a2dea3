import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { probeImage } from "@imagen/catalogue";
import { patternImage } from "@imagen/testing/images";
import { writeTestModels, type TestModels } from "@imagen/testing/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GOOD, writeGoodFolder, writeMixedFolder } from "./fixtures.js";
import { ANSI_ESCAPE, built, CLI_BIN, CLI_MAIN, imagen } from "./processes.js";

async function probe(file: string) {
  return probeImage(await readFile(file), { maxInputPixels: 1e8 });
}

// The built CLI as a separate process, with the tiny test models; `npm test` builds first.
describe.runIf(built(CLI_MAIN))("imagen in this process", () => {
  let dir: string;
  let models: TestModels;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "imagen-cli-"));
    models = await writeTestModels(dir);
    env = { IMAGEN_MODEL_DIR: models.modelDir, IMAGEN_MODEL_MANIFEST: models.manifestPath };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("processes a mixed folder: results decode at ×4, bad files fail with the service's codes, exit 1", async () => {
    const input = await writeMixedFolder(path.join(dir, "mixed"));
    const out = path.join(dir, "mixed-out");
    const run = await imagen(["upscale", input, "--out", out], { env });

    expect(run.status).toBe(1);
    for (const image of GOOD) {
      expect(await probe(path.join(out, image.output))).toMatchObject({
        format: image.format,
        width: image.width * 4,
        height: image.height * 4,
      });
    }
    expect((await readdir(out)).sort()).toEqual(GOOD.map((g) => g.output).sort());
    const rows = run.stdout.split("\n");
    expect(rows).toContainEqual(expect.stringMatching(/^\S+fake\.png +failed .* UNSUPPORTED_IMAGE$/));
    expect(rows).toContainEqual(expect.stringMatching(/^\S+broken\.jpg +failed .* UNSUPPORTED_IMAGE$/));
    expect(rows).toContainEqual(expect.stringMatching(/^\S+a\.png +succeeded +40×30 → 160×120 /));
    expect(rows).toContainEqual(expect.stringMatching(/^\S+notes\.txt +skipped$/));
    expect(run.stdout).toMatch(/truncated/);
    expect(run.stdout).toContain("upscale: 3 succeeded, 2 failed, 1 skipped in ");
    expect(run.stdout + run.stderr).not.toMatch(ANSI_ESCAPE);
  });

  it("exits 0 when every file succeeds; --json, -o and --format shape the results", async () => {
    const input = await writeGoodFolder(path.join(dir, "good"));
    const out = path.join(dir, "good-out");
    const run = await imagen(["upscale", input, "--out", out, "-o", "scale=2", "--format", "webp", "--json"], { env });

    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as { op: string; outcomes: { status: string; output: string }[] };
    expect(report.op).toBe("upscale");
    expect(report.outcomes.map((o) => o.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    for (const image of GOOD) {
      const stem = path.basename(image.name, path.extname(image.name));
      expect(await probe(path.join(out, `${stem}.upscale.webp`))).toMatchObject({
        format: "webp",
        width: image.width * 2,
        height: image.height * 2,
      });
    }
  });

  it("refuses a bad command line with exit 2 and a message, before writing anything", async () => {
    const input = await writeGoodFolder(path.join(dir, "usage"));
    const out = path.join(dir, "usage-out");
    const cases: [string[], RegExp][] = [
      [["upscale", input], /required option '--out <dir>' not specified/],
      [["sharpen", input, "--out", out], /unknown command 'sharpen'/],
      [["upscale", input, "--out", out, "-o", "scale=5"], /Invalid option scale for op upscale/],
      [["upscale", input, "--out", out, "-o", "scale"], /Expected key=value for --option but received "scale"/],
      [["upscale", input, "--out", out, "--format", "bmp"], /argument 'bmp' is invalid/],
      [["upscale", input, "--out", out, "--model", "nope"], /Expected a model for upscale \(tiny-upscale\)/],
      [["upscale", path.join(dir, "missing"), "--out", out], /Expected an existing file or folder/],
      [["upscale", input, "--out", out, "-c", "0"], /Expected a positive integer but received 0/],
      [["jobs", "ls"], /talks to a running Imagen: pass --api URL or set IMAGEN_API_URL/],
      [[], /Usage: imagen/],
    ];
    for (const [args, message] of cases) {
      const run = await imagen(args, { env });
      expect({ args, status: run.status }).toEqual({ args, status: 2 });
      expect(run.stderr).toMatch(message);
    }
    const badEnv = await imagen(["ops"], { env: { ...env, IMAGEN_EXECUTION_PROVIDER: "tpu" } });
    expect([badEnv.status, badEnv.stderr]).toEqual([2, expect.stringContaining("IMAGEN_EXECUTION_PROVIDER:")]);
    await expect(readdir(out)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("fails with MODEL_UNAVAILABLE, exit 1, when the op's model file is missing", async () => {
    const input = await writeGoodFolder(path.join(dir, "no-model"));
    const run = await imagen(["upscale", input, "--out", path.join(dir, "no-model-out")], {
      env: { ...env, IMAGEN_MODEL_DIR: path.join(dir, "empty-models") },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^imagen: MODEL_UNAVAILABLE Cannot run upscale: model tiny-upscale is missing/);
  });

  it("lists the ops with their options, defaults and models", async () => {
    const run = await imagen(["ops"], { env });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^upscale {2}Super-resolution/m);
    expect(run.stdout).toMatch(/^ {4}scale +2\|3\|4 +default 4 +Scale factor/m);
    expect(run.stdout).toMatch(/^ {4}tiny-upscale +default +tiny-upscale$/m);
    const json = JSON.parse((await imagen(["ops", "--json"], { env })).stdout) as { ops: { name: string }[] };
    expect(json.ops.map((o) => o.name)).toEqual(["upscale", "enhance", "comic", "background-removal"]);
  });

  it("models verify passes on the test models and fails on a corrupted or missing file", async () => {
    const ok = await imagen(["models", "verify"], { env });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^tiny-upscale +upscale +default +upscale\/tiny\.onnx +\d+ B +ok$/m);
    expect(ok.stdout).toContain("5 of 5 model files match the catalogue");

    const broken = await writeTestModels(path.join(dir, "corrupt"));
    const upscale = path.join(broken.modelDir, "upscale", "tiny.onnx");
    const bytes = await readFile(upscale);
    // Same size, one byte off: only the checksum can tell.
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(upscale, bytes);
    await rm(path.join(broken.modelDir, "comic", "tiny.onnx"));
    const brokenEnv = { IMAGEN_MODEL_DIR: broken.modelDir, IMAGEN_MODEL_MANIFEST: broken.manifestPath };

    const bad = await imagen(["models", "verify"], { env: brokenEnv });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^tiny-upscale .* wrong checksum$/m);
    expect(bad.stdout).toMatch(/^tiny-comic .* missing$/m);
    expect(bad.stdout).toContain("3 of 5 model files match the catalogue");
    // Listing only looks at presence and size, and does not fail.
    const listed = await imagen(["models"], { env: brokenEnv });
    expect([listed.status, listed.stdout]).toEqual([0, expect.stringMatching(/^tiny-upscale .* present$/m)]);
  });

  it("Ctrl-C cancels the running file, starts no other, prints the summary and exits 130", async () => {
    const slow = await writeTestModels(path.join(dir, "slow"), { slowUpscale: true });
    const input = path.join(dir, "interrupt");
    await mkdir(input);
    await writeFile(path.join(input, "a-small.png"), await patternImage({ width: 16, height: 16 }));
    for (const name of ["b-large.png", "c-large.png"]) {
      await writeFile(path.join(input, name), await patternImage({ width: 1024, height: 1024 }));
    }
    const out = path.join(dir, "interrupt-out");
    const child = spawn(process.execPath, [CLI_MAIN, "upscale", input, "--out", out, "-c", "1"], {
      env: { PATH: process.env.PATH ?? "", IMAGEN_MODEL_DIR: slow.modelDir, IMAGEN_MODEL_MANIFEST: slow.manifestPath },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let interrupted = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      // The small file is done, so the first large one is running; a second Ctrl-C would exit at once.
      if (!interrupted && stdout.includes("succeeded ")) interrupted = child.kill("SIGINT");
    });
    const [status] = (await once(child, "close")) as [number | null];

    expect(status).toBe(130);
    expect(stdout).toMatch(/^\S+b-large\.png +canceled /m);
    expect(stdout).toMatch(/^\S+c-large\.png +canceled$/m);
    expect(stdout).toContain("upscale: 1 succeeded, 0 failed, 2 canceled in ");
    expect(await readdir(out)).toEqual(["a-small.upscale.png"]);
  });

  it("the bin builds what is stale (nothing here) quietly, then runs the CLI", async () => {
    const run = await imagen(["--version"], { entry: CLI_BIN });
    const { version } = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(run).toMatchObject({ status: 0, stdout: `${version}\n` });
  }, 180_000);
});
