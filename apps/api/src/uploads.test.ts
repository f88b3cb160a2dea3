import { patternImage } from "@imagen/testing/images";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiHarness, type ApiHarness } from "../test/harness.js";

interface UploadTicket {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  maxBytes: number;
}

describe("two-phase upload", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await createApiHarness({ limits: { maxUploadBytes: 50_000 } });
  });
  afterEach(async () => {
    await h.close();
  });

  async function ticket(contentType = "image/png"): Promise<UploadTicket> {
    const res = await h.app.inject({ method: "POST", url: "/v1/uploads", payload: { contentType } });
    expect(res.statusCode).toBe(201);
    return res.json<UploadTicket>();
  }

  async function put(t: UploadTicket, body: Buffer) {
    return h.app.inject({ method: t.method as "PUT", url: t.url, headers: t.headers, payload: body });
  }

  async function createJob(payload: unknown) {
    return h.app.inject({ method: "POST", url: "/v1/jobs", payload: payload as Record<string, unknown> });
  }

  it("takes the bytes at the URL it gives, then makes a job from the upload id", async () => {
    const t = await ticket();
    expect(t).toMatchObject({ method: "PUT", maxBytes: 50_000 });
    expect(t.url).toMatch(new RegExp(`^/v1/uploads/${t.id}\\?token=[A-Za-z0-9_-]{43}$`));
    const image = await patternImage({ width: 64, height: 48 });
    expect((await put(t, image)).statusCode).toBe(200);

    const res = await createJob({ op: "upscale", options: { scale: 2 }, input: { uploadId: t.id } });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      status: "queued",
      options: { scale: 2 },
      input: { width: 64, height: 48, format: "png", bytes: image.length },
    });
    // The job holds its own copy; the staged upload is gone and cannot make a second job.
    const again = await createJob({ op: "upscale", input: { uploadId: t.id } });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ error: { code: "UPLOAD_NOT_FOUND" } });
  });

  it("checks the staged bytes like a direct upload", async () => {
    const t = await ticket();
    await put(t, Buffer.from("not an image at all, just text"));
    const res = await createJob({ op: "upscale", input: { uploadId: t.id } });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ error: { code: "UNSUPPORTED_IMAGE" } });
    expect((await h.jobs.list({}, { limit: 10 })).jobs).toEqual([]);
  });

  it("refuses a PUT over the upload limit with 413", async () => {
    const t = await ticket();
    const res = await put(t, Buffer.alloc(60_000));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
  });

  it("refuses a content type that is not an image", async () => {
    const res = await h.app.inject({ method: "POST", url: "/v1/uploads", payload: { contentType: "text/html" } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: "VALIDATION_FAILED" } });
  });

  it("refuses an unknown upload id and a malformed JSON job", async () => {
    const unknown = await createJob({ op: "upscale", input: { uploadId: "0000000000000000000z" } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: "UPLOAD_NOT_FOUND" } });
    const malformed = await createJob({ op: "upscale", input: {} });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ error: { code: "VALIDATION_FAILED" } });
    const badOp = await createJob({ op: "zoom", input: { uploadId: (await ticket()).id } });
    expect(badOp.statusCode).toBe(400);
    expect(badOp.json()).toMatchObject({ error: { code: "UNKNOWN_OP" } });
  });

  it.each([
    ["no token", (t: UploadTicket) => `/v1/uploads/${t.id}`],
    ["a wrong token", (t: UploadTicket) => `/v1/uploads/${t.id}?token=${"A".repeat(43)}`],
    [
      "another upload's token",
      (t: UploadTicket, other: UploadTicket) => `/v1/uploads/${t.id}?${other.url.split("?")[1]}`,
    ],
    ["an id that was never created", (t: UploadTicket) => `/v1/uploads/0000000000000000000z?${t.url.split("?")[1]}`],
  ])("refuses a PUT with %s with 404 UPLOAD_NOT_FOUND and stores nothing", async (_, url) => {
    const t = await ticket();
    const other = await ticket();
    const image = await patternImage({ width: 16, height: 16 });
    const res = await put({ ...t, url: url(t, other) }, image);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: "UPLOAD_NOT_FOUND" } });
    expect(await h.blobs.head(`uploads/${t.id}`)).toBeNull();
    const job = await createJob({ op: "upscale", input: { uploadId: t.id } });
    expect(job.json()).toMatchObject({ error: { code: "UPLOAD_NOT_FOUND" } });
  });
});
