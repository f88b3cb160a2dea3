import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { InputFile } from "./inputs.js";
import { createOutputNamer, writeOutput } from "./output-names.js";

const input = (file: string, outputDir = ""): InputFile => ({ path: path.resolve(file), label: file, outputDir });

describe("createOutputNamer", () => {
  it("names a result <name>.<op>.<ext> under --out, jpeg as .jpg", () => {
    const namer = createOutputNamer("/out", "upscale", []);
    expect(namer.pathFor(input("/in/photo.jpeg"), "jpeg")).toBe("/out/photo.upscale.jpg");
    expect(namer.pathFor(input("/in/cat.png", "sub"), "webp")).toBe("/out/sub/cat.upscale.webp");
  });

  it("never gives an input's path, in any letter case, nor one path twice in a run", () => {
    const inputs = [input("/out/a.upscale.png"), input("/x/A.png"), input("/y/a.png")];
    const namer = createOutputNamer("/out", "upscale", inputs);
    expect(namer.pathFor(inputs[1]!, "png")).toBe("/out/A-2.upscale.png");
    expect(namer.pathFor(inputs[2]!, "png")).toBe("/out/a-3.upscale.png");
  });
});

describe("writeOutput", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "imagen-cli-names-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates the folders and leaves only the finished file", async () => {
    const file = path.join(dir, "a", "b", "x.upscale.png");
    await writeOutput(file, Buffer.from("one"));
    await writeOutput(file, Buffer.from("two"));
    expect(await readFile(file, "utf8")).toBe("two");
    expect(await readdir(path.dirname(file))).toEqual(["x.upscale.png"]);
  });
});
