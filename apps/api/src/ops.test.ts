import { rm } from "node:fs/promises";
import * as path from "node:path";
import { patternImage } from "@imagen/testing/images";
import { afterEach, describe, expect, it } from "vitest";
import { createApiHarness, multipart, type ApiHarness } from "../test/harness.js";

interface OpView {
  name: string;
  available: boolean | null;
  unavailableReason?: string;
  models: { id: string; label: string; licence: string; available: boolean | null; unavailableReason?: string }[];
}

describe("an op whose model cannot run", () => {
  let h: ApiHarness;
  afterEach(() => h.close());

  const ops = async (): Promise<OpView[]> =>
    (await h.app.inject({ method: "GET", url: "/v1/ops" })).json<{ ops: OpView[] }>().ops;

  it("is shown available in /v1/ops while every model file is there, with labels and licences", async () => {
    h = await createApiHarness();
    const all = await ops();
    expect(all.map((o) => [o.name, o.available])).toEqual([
      ["upscale", true],
      ["enhance", true],
      ["comic", true],
      ["background-removal", true],
    ]);
    const enhance = all.find((o) => o.name === "enhance")!;
    expect(enhance.models.map((m) => m.id)).toEqual(["tiny-enhance", "tiny-denoise"]);
    expect(enhance.models[1]).toMatchObject({ role: "denoise", licence: "MIT", available: true });
  });

  it("is shown unavailable, naming the missing file, and a submission for it is refused with 503 OP_UNAVAILABLE", async () => {
    h = await createApiHarness();
    await rm(path.join(h.modelDir, "enhance/tiny-denoise.onnx"));
    const enhance = (await ops()).find((o) => o.name === "enhance")!;
    expect(enhance.available).toBe(false);
    expect(enhance.unavailableReason).toContain("enhance/tiny-denoise.onnx");
    expect(enhance.models.find((m) => m.id === "tiny-denoise")).toMatchObject({ available: false });
    expect(enhance.models.find((m) => m.id === "tiny-enhance")).toMatchObject({ available: true });

    const file = await patternImage({ width: 16, height: 16 });
    const res = await h.app.inject({ method: "POST", url: "/v1/jobs", body: multipart({ op: "enhance", file }) });
    expect(res.statusCode).toBe(503);
    const body = res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe("OP_UNAVAILABLE");
    expect(body.error.message).toContain("enhance/tiny-denoise.onnx");
    // The client learns which catalogue file, not where the server keeps it.
    expect(body.error.message).not.toContain(h.modelDir);
    expect((await h.jobs.list({}, { limit: 10 })).jobs).toEqual([]);
    expect(await h.storedInputs()).toEqual([]);

    // The other ops still run.
    const up = await h.app.inject({ method: "POST", url: "/v1/jobs", body: multipart({ op: "upscale", file }) });
    expect(up.statusCode).toBe(202);
  });

  it("still gets the input's own 4xx first: no file is MISSING_FILE, not OP_UNAVAILABLE", async () => {
    h = await createApiHarness();
    await rm(path.join(h.modelDir, "enhance/tiny-denoise.onnx"));
    const res = await h.app.inject({ method: "POST", url: "/v1/jobs", body: multipart({ op: "enhance" }) });
    expect([res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([400, "MISSING_FILE"]);
  });

  it("is unavailable when the embedded worker does not run it, though its models are there", async () => {
    h = await createApiHarness({
      localRun: { opProblem: (op) => (op === "comic" ? "this server's worker does not run comic" : null) },
    });
    const comic = (await ops()).find((o) => o.name === "comic")!;
    expect([comic.available, comic.unavailableReason]).toEqual([false, "this server's worker does not run comic"]);
    const file = await patternImage({ width: 16, height: 16 });
    const res = await h.app.inject({ method: "POST", url: "/v1/jobs", body: multipart({ op: "comic", file }) });
    expect(res.statusCode).toBe(503);
    expect(res.json<{ error: { message: string } }>().error.message).toContain("does not run comic");
  });

  it("is not judged by an API that does not run the models: available is null and jobs are queued for the workers", async () => {
    h = await createApiHarness({ modelsAreLocal: false });
    await rm(path.join(h.modelDir, "enhance/tiny-denoise.onnx"));
    expect((await ops()).every((o) => o.available === null)).toBe(true);
    const file = await patternImage({ width: 16, height: 16 });
    const res = await h.app.inject({ method: "POST", url: "/v1/jobs", body: multipart({ op: "enhance", file }) });
    expect(res.statusCode).toBe(202);
  });
});
