import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiHarness, type ApiHarness } from "../test/harness.js";
import { JSON_BODY_LIMITS } from "./json-body.js";

describe("the guarded JSON body parser", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await createApiHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const post = (url: string, payload: string) =>
    h.app.inject({ method: "POST", url, headers: { "content-type": "application/json" }, payload });

  it("parses an ordinary JSON body", async () => {
    expect((await post("/v1/uploads", '{"contentType":"image/png"}')).statusCode).toBe(201);
  });

  it("answers a body nested too deep 400 INVALID_REQUEST, before parsing it, storing nothing", async () => {
    const depth = JSON_BODY_LIMITS.maxDepth + 1;
    const deep = `{"op":"enhance","input":{"uploadId":"x"},"options":{"a":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
    const res = await post("/v1/jobs", deep);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: "INVALID_REQUEST" } });
    expect((await h.jobs.list({}, { limit: 10 })).jobs).toEqual([]);
  });

  it("answers a body over its size limit 413 PAYLOAD_TOO_LARGE", async () => {
    const res = await post(
      "/v1/uploads",
      JSON.stringify({ contentType: "image/png", pad: "x".repeat(JSON_BODY_LIMITS.maxBytes) }),
    );
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
  });

  it("still refuses malformed JSON and prototype poisoning with 400", async () => {
    for (const payload of ['{"contentType":', '{"contentType":"image/png","__proto__":{"x":1}}']) {
      const res = await post("/v1/uploads", payload);
      expect(res.statusCode, payload).toBe(400);
    }
  });
});
