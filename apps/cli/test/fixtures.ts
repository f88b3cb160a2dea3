import { mkdir, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { notAnImage, patternImage, truncatedJpeg } from "@imagen/testing/images";

/** The good images of {@link writeMixedFolder}: name, and the size and format of each upscale ×4 result. */
export const GOOD = [
  { name: "a.png", width: 40, height: 30, output: "a.upscale.png", format: "png" },
  { name: "b.jpg", width: 48, height: 32, output: "b.upscale.jpg", format: "jpeg" },
  { name: "c.webp", width: 20, height: 20, output: "c.upscale.webp", format: "webp" },
] as const;

/** A folder of png, jpeg and webp photos, a text file named like an image, a truncated jpeg and a `.txt` note. */
export async function writeMixedFolder(dir: string): Promise<string> {
  await writeGoodFolder(dir);
  await writeFile(path.join(dir, "fake.png"), notAnImage());
  await writeFile(path.join(dir, "broken.jpg"), await truncatedJpeg({ width: 64, height: 64 }));
  await writeFile(path.join(dir, "notes.txt"), "not an image");
  return dir;
}

export async function writeGoodFolder(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const image of GOOD) {
    const format = image.format;
    await writeFile(
      path.join(dir, image.name),
      await patternImage({ width: image.width, height: image.height, format }),
    );
  }
  return dir;
}
