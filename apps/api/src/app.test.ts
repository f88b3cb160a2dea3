import { patternImage } from "@imagen/testing/images";
import { afterEach, describe, expect, it } from "vitest";
import { createApiHarness, multipart, type ApiHarness } from "../test/harness.js";

describe("service routes", () => {
  let h: ApiHarness;
  afterEach(async () => {
    await h.close();
  });

  it("lists the four ops with their option schemas and models", async () => {
    h = await createApiHarness();
    const res = await h.app.inject({ method: "GET", url: "/v1/ops" });
    expect(res.statusCode).toBe(200);
    const { ops } = res.json<{
      ops: {
        name: string;
        options: { properties: Record<string, { default?: unknown }> };
        models: { id: string; default: boolean }[];
      }[];
    }>();
    expect(ops.map((o) => o.name)).toEqual(["upscale", "enhance", "comic", "background-removal"]);
    const upscale = ops[0];
    expect(upscale?.options.properties.scale?.default).toBe(4);
    expect(upscale?.models).toEqual([expect.objectContaining({ id: "tiny-upscale", default: true })]);
  });

  it("is live, and ready only when nothing is wrong", async () => {
    let problems: string[] = [];
    h = await createApiHarness({ readiness: async () => problems });
    expect((await h.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    expect((await h.app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
    problems = ["upscale: model file /models/x.onnx is missing"];
    const res = await h.app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: "not-ready", problems });
  });

  it("counts requests and created jobs in Prometheus text", async () => {
    h = await createApiHarness();
    const file = await patternImage({ width: 8, height: 8 });
    await h.app.inject({ method: "POST", url: "/v1/jobs", body: multipart({ op: "enhance", file }) });
    const res = await h.app.inject({ method: "GET", url: "/metrics" });
    expect(res.headers["content-type"]).toContain("text/plain");
    expect(res.body).toContain('api_jobs_created_total{op="enhance"} 1');
    expect(res.body).toMatch(
      /api_http_request_duration_seconds_count\{method="POST",route="\/v1\/jobs",status="202"\} 1/,
    );
  });

  it("serves an OpenAPI 3 document of every route, and its UI", async () => {
    h = await createApiHarness();
    const doc = (await h.app.inject({ method: "GET", url: "/openapi.json" })).json<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/result", "/v1/ops", "/healthz", "/readyz"]),
    );
    expect(Object.keys(doc.paths["/v1/jobs"] ?? {})).toEqual(expect.arrayContaining(["get", "post"]));
    const ui = await h.app.inject({ method: "GET", url: "/docs/" });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers["content-type"]).toContain("text/html");
  });

  it("echoes the client's request id, or makes one", async () => {
    h = await createApiHarness();
    const given = await h.app.inject({ method: "GET", url: "/v1/jobs/x", headers: { "x-request-id": "abc-123" } });
    expect(given.headers["x-request-id"]).toBe("abc-123");
    expect(given.json()).toMatchObject({ requestId: "abc-123" });
    const made = await h.app.inject({ method: "GET", url: "/healthz" });
    expect(made.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers an internal failure with 500 INTERNAL and no internal detail", async () => {
    h = await createApiHarness();
    await h.jobs.close();
    const res = await h.app.inject({ method: "GET", url: "/v1/jobs/anything" });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      error: { code: "INTERNAL", message: "Internal Server Error" },
      requestId: res.headers["x-request-id"],
    });
  });

  it("answers an unknown route with 404 NOT_FOUND in the error shape", async () => {
    h = await createApiHarness();
    const res = await h.app.inject({ method: "GET", url: "/v2/nothing" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
  });

  it("serves the web page", async () => {
    h = await createApiHarness();
    const res = await h.app.inject({ method: "GET", url: "/" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/html");
    expect(res.body).toContain('fetch("/v1/jobs"');
  });
});
