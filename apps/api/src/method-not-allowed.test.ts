import { patternImage } from "@imagen/testing/images";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiHarness, multipart, type ApiHarness } from "../test/harness.js";

describe("methods and fields the API does not take", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await createApiHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it.each([
    ["TRACE", "/healthz", "GET, HEAD"],
    ["PATCH", "/v1/jobs", "GET, HEAD, POST"],
    ["PUT", "/v1/jobs/abc", "DELETE, GET, HEAD"],
    ["POST", "/v1/jobs/abc/result", "GET, HEAD"],
  ] as const)("answers %s %s with 405 METHOD_NOT_ALLOWED and Allow: %s", async (method, url, allow) => {
    const res = await h.app.inject({ method, url });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.json()).toMatchObject({ error: { code: "METHOD_NOT_ALLOWED" } });
  });

  it("still answers an unknown path with 404 NOT_FOUND", async () => {
    const res = await h.app.inject({ method: "TRACE", url: "/nowhere" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
  });

  it("refuses a body property no schema names with 400, instead of dropping it", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/uploads",
      payload: { contentType: "image/png", extra: 1 },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: "VALIDATION_FAILED" } });
  });

  it("takes empty options and webhook fields, as a browser form sends them, as none", async () => {
    const form = multipart({ op: "upscale", options: "", file: await patternImage({ width: 16, height: 16 }) });
    form.set("webhook", "");
    const res = await h.app.inject({ method: "POST", url: "/v1/jobs", body: form });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ options: { scale: 4 }, webhook: null });
  });
});
