import { readAll } from "@imagen/core";
import { describe, expect, it } from "vitest";
import { emulators, uniqueName } from "../test/gcp-test-kit.js";
import { createGcsBlobStore } from "./gcs-blob-store.js";
import { createGcsModelSource } from "./gcs-model-source.js";

describe("createGcsModelSource", () => {
  it("opens model files under the prefix, and answers null for a missing one", async () => {
    const bucket = uniqueName("models");
    const blobs = createGcsBlobStore({
      projectId: emulators().projectId,
      apiEndpoint: emulators().storage,
      bucket,
      createBucket: true,
    });
    await blobs.put("v1/upscale/tiny.onnx", Buffer.from("model bytes"), { contentType: "application/octet-stream" });
    const source = createGcsModelSource({
      bucket,
      prefix: "v1/",
      projectId: emulators().projectId,
      apiEndpoint: emulators().storage,
    });
    expect(source.describe("upscale/tiny.onnx")).toBe(`gs://${bucket}/v1/upscale/tiny.onnx`);
    const stream = await source.open("upscale/tiny.onnx");
    expect(stream && (await readAll(stream)).toString()).toBe("model bytes");
    expect(await source.open("upscale/missing.onnx")).toBeNull();
    await blobs.close();
  });
});
