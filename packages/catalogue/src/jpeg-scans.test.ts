import { patternImage, scanBombJpeg, truncatedJpeg, uniformJpeg } from "@imagen/testing/images";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { countJpegScans } from "./jpeg-scans.js";

describe("countJpegScans", () => {
  it("counts one scan in a baseline jpeg", async () => {
    expect(countJpegScans(await patternImage({ width: 64, height: 48, format: "jpeg" }))).toBe(1);
    expect(countJpegScans(uniformJpeg({ width: 64, height: 48 }))).toBe(1);
  });

  it("counts an encoder's progressive scans", async () => {
    const progressive = await sharp(await patternImage({ width: 64, height: 48 }))
      .jpeg({ progressive: true })
      .toBuffer();
    const scans = countJpegScans(progressive);
    expect(scans).toBeGreaterThan(1);
    expect(scans).toBeLessThanOrEqual(20);
  });

  it("counts every scan of a scan bomb, or stops once past the limit", () => {
    const bomb = scanBombJpeg({ width: 64, height: 48, scans: 300 });
    // The DC scan, then the 300 AC scans.
    expect(countJpegScans(bomb)).toBe(301);
    expect(countJpegScans(bomb, 100)).toBe(101);
  });

  it("counts the scans before the cut in a truncated file", async () => {
    expect(countJpegScans(await truncatedJpeg({ width: 64, height: 64 }))).toBe(1);
    expect(countJpegScans(Buffer.from([0xff, 0xd8, 0xff]))).toBe(0);
  });
});
