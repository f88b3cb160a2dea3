import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { patternImage } from "@imagen/testing/images";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { collectInputs } from "./inputs.js";

describe("collectInputs", () => {
  let dir: string;
  let cwd: string;
  beforeEach(async () => {
    cwd = process.cwd();
    dir = await mkdtemp(path.join(tmpdir(), "imagen-cli-inputs-"));
    process.chdir(dir);
    const png = await patternImage({ width: 8, height: 8 });
    await mkdir("photos/sub", { recursive: true });
    await writeFile("photos/b.png", png);
    await writeFile("photos/a-no-extension", png);
    await writeFile("photos/notes.txt", "not an image");
    await writeFile("photos/.hidden.png", png);
    await writeFile("photos/sub/c.jpg", "anything named like an image");
  });
  afterEach(async () => {
    process.chdir(cwd);
    await rm(dir, { recursive: true, force: true });
  });

  it("takes a folder's images by extension or magic bytes, skips other files and hidden ones", async () => {
    const inputs = await collectInputs(["photos"], { recursive: false });
    expect(inputs.files.map((f) => [f.label, f.outputDir])).toEqual([
      ["photos/a-no-extension", ""],
      ["photos/b.png", ""],
    ]);
    expect(inputs.skipped).toEqual([{ label: "photos/notes.txt", reason: "not an image (extension and contents)" }]);
  });

  it("walks sub-folders with recursive, keeping their place for the outputs", async () => {
    const inputs = await collectInputs(["photos"], { recursive: true });
    expect(inputs.files.map((f) => [f.label, f.outputDir])).toContainEqual(["photos/sub/c.jpg", "sub"]);
  });

  it("always takes a file argument, once, even when it is no image", async () => {
    const inputs = await collectInputs(["photos/notes.txt", "photos/b.png", "./photos/notes.txt"], {
      recursive: false,
    });
    expect(inputs.files.map((f) => f.path)).toEqual([path.resolve("photos/notes.txt"), path.resolve("photos/b.png")]);
  });

  it("refuses a path that does not exist, and a run with nothing to do", async () => {
    await expect(collectInputs(["nope.png"], { recursive: false })).rejects.toMatchObject({
      name: "UsageError",
      message: "Expected an existing file or folder but received nope.png (no such file or folder)",
    });
    await mkdir("empty");
    await expect(collectInputs(["empty"], { recursive: false })).rejects.toMatchObject({
      name: "UsageError",
      message: "Expected image files but found none in empty",
    });
  });
});
