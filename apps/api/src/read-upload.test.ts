import { patternImage } from "@imagen/testing/images";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiHarness, multipart, type ApiHarness } from "../test/harness.js";
import { OPTIONS_MAX_BYTES, OPTIONS_MAX_DEPTH } from "./options-guard.js";

const BOUNDARY = "----imagen-test-boundary";

function rawMultipart(file: Buffer): Buffer {
  const field = (name: string, value: string) =>
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head = `${field("op", "enhance")}--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
}

describe("readUpload, through POST /v1/jobs", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await createApiHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function expectRefused(res: { statusCode: number; json: () => unknown }, status: number, code: string) {
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ error: { code } });
    expect((await h.jobs.list({}, { limit: 10 })).jobs).toEqual([]);
    expect(await h.storedInputs()).toEqual([]);
  }

  it("accepts a well-formed raw multipart body (the baseline of the cases below)", async () => {
    const body = rawMultipart(await patternImage({ width: 8, height: 8 }));
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/jobs",
      headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
      body,
    });
    expect(res.statusCode).toBe(202);
  });

  it("answers a multipart content type without a boundary 400 INVALID_REQUEST, storing nothing", async () => {
    const body = rawMultipart(await patternImage({ width: 8, height: 8 }));
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/jobs",
      headers: { "content-type": "multipart/form-data" },
      body,
    });
    await expectRefused(res, 400, "INVALID_REQUEST");
  });

  it("answers a truncated multipart body 400 INVALID_REQUEST, storing nothing", async () => {
    const body = rawMultipart(await patternImage({ width: 64, height: 64 }));
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/jobs",
      headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
      body: body.subarray(0, body.length - 40),
    });
    await expectRefused(res, 400, "INVALID_REQUEST");
  });

  it("answers options nested too deep 400 INVALID_OPTIONS, storing nothing", async () => {
    const file = await patternImage({ width: 8, height: 8 });
    const options = `{"a":${"[".repeat(OPTIONS_MAX_DEPTH)}${"]".repeat(OPTIONS_MAX_DEPTH)}}`;
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/jobs",
      body: multipart({ op: "enhance", options, file }),
    });
    await expectRefused(res, 400, "INVALID_OPTIONS");
    expect(res.json()).toMatchObject({
      error: { message: expect.stringMatching(/nested at most 8 levels/) as unknown },
    });
  });

  it("answers options too large 400 INVALID_OPTIONS, storing nothing", async () => {
    const file = await patternImage({ width: 8, height: 8 });
    const options = JSON.stringify({ note: "x".repeat(OPTIONS_MAX_BYTES) });
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/jobs",
      body: multipart({ op: "enhance", options, file }),
    });
    await expectRefused(res, 400, "INVALID_OPTIONS");
    expect(res.json()).toMatchObject({ error: { message: expect.stringMatching(/at most 4096 bytes/) as unknown } });
  });
});
