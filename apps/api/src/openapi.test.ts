import { afterEach, describe, expect, it } from "vitest";
import { createApiHarness, type ApiHarness } from "../test/harness.js";
import { apiKeyEntriesOfList, parseApiKeys } from "./api-keys.js";

const KEYS = parseApiKeys(apiKeyEntriesOfList("alice:alice-secret")).keys;

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<
    string,
    { description: string; content?: Record<string, unknown>; headers?: Record<string, unknown> }
  >;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { required?: string[] }>; securitySchemes?: Record<string, unknown> };
}

const ROUTES = [
  ["post", "/v1/jobs"],
  ["get", "/v1/jobs"],
  ["get", "/v1/jobs/{id}"],
  ["delete", "/v1/jobs/{id}"],
  ["get", "/v1/jobs/{id}/result"],
  ["get", "/v1/jobs/{id}/events"],
  ["post", "/v1/uploads"],
  ["put", "/v1/uploads/{id}"],
  ["get", "/v1/ops"],
  ["get", "/healthz"],
  ["get", "/readyz"],
] as const;

/** The statuses each operation can answer, with keys and the rate limit on. */
const STATUSES: Record<string, string[]> = {
  "post /v1/jobs": ["200", "202", "400", "401", "404", "409", "413", "415", "422", "429", "500", "503"],
  "get /v1/jobs": ["200", "400", "401", "429", "500", "503"],
  "get /v1/jobs/{id}": ["200", "400", "401", "404", "429", "500", "503"],
  "delete /v1/jobs/{id}": ["200", "400", "401", "404", "409", "413", "415", "429", "500", "503"],
  "get /v1/jobs/{id}/result": ["200", "302", "400", "401", "404", "409", "429", "500", "503"],
  "get /v1/jobs/{id}/events": ["200", "400", "401", "404", "429", "500", "503"],
  "post /v1/uploads": ["201", "400", "401", "413", "415", "429", "500", "503"],
  "put /v1/uploads/{id}": ["200", "400", "404", "413", "415", "429", "500", "503"],
  "get /v1/ops": ["200", "401", "429", "500", "503"],
  "get /healthz": ["200", "500"],
  "get /readyz": ["200", "500", "503"],
};

describe("the OpenAPI document", () => {
  let h: ApiHarness;
  afterEach(async () => {
    await h.close();
  });

  async function documentOf(edge: NonNullable<Parameters<typeof createApiHarness>[0]>["edge"] = {}): Promise<Document> {
    h = await createApiHarness({ edge });
    const res = await h.app.inject({ method: "GET", url: "/openapi.json" });
    expect(res.statusCode).toBe(200);
    return res.json<Document>();
  }

  it("documents every route with every status it answers, each described", async () => {
    const doc = await documentOf({ apiKeys: KEYS });
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(documented.sort()).toEqual(ROUTES.map(([m, p]) => `${m} ${p}`).sort());
    for (const [method, path] of ROUTES) {
      const op = doc.paths[path]![method]!;
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(STATUSES[`${method} ${path}`]);
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description, `${method} ${path} ${status}`).not.toBe("Default Response");
      }
    }
  });

  it("leaves out 401 without keys and 429 without a rate limit", async () => {
    const doc = await documentOf({ rateLimitPerMin: 0 });
    const statuses = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops).flatMap((op) => Object.keys(op.responses)),
    );
    expect(statuses).not.toContain("401");
    // QUOTA_EXCEEDED on submissions and event streams remains.
    expect(Object.keys(doc.paths["/v1/jobs"]!.get!.responses)).not.toContain("429");
    expect(Object.keys(doc.paths["/v1/jobs"]!.post!.responses)).toContain("429");
  });

  it("names shared schemas by their $id, with no def-N names", async () => {
    const doc = await documentOf();
    const names = [
      "Error",
      "Job",
      "JobList",
      "Upload",
      "UploadReceipt",
      "Op",
      "OpList",
      "Model",
      "Health",
      "Readiness",
    ];
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining([...names, "UpscaleOptions"]));
    expect(JSON.stringify(doc)).not.toMatch(/def-\d/);
    expect(doc.paths["/v1/jobs/{id}"]!.get!.responses["200"]!.content).toEqual({
      "application/json": { schema: { $ref: "#/components/schemas/Job" } },
    });
    expect(doc.paths["/v1/jobs/{id}"]!.get!.responses["404"]!.content).toEqual({
      "application/json": { schema: { $ref: "#/components/schemas/Error" } },
    });
  });

  it("gives the result's image types and redirect, the upload's body types, and the event stream", async () => {
    const doc = await documentOf();
    const binary = { schema: { type: "string", format: "binary" } };
    const result = doc.paths["/v1/jobs/{id}/result"]!.get!.responses;
    expect(result["200"]!.content).toEqual({
      "image/png": binary,
      "image/jpeg": binary,
      "image/webp": binary,
      "image/avif": binary,
    });
    expect(result["302"]!.content).toBeUndefined();
    expect(Object.keys(result["302"]!.headers!)).toEqual(["location"]);
    const put = doc.paths["/v1/uploads/{id}"]!.put!.requestBody!.content;
    expect(Object.keys(put)).toEqual(expect.arrayContaining(["image/png", "image/jpeg", "application/octet-stream"]));
    for (const media of Object.values(put)) expect(media).toEqual(binary);
    const events = doc.paths["/v1/jobs/{id}/events"]!.get!.responses["200"]!.content!;
    expect(Object.keys(events)).toEqual(["text/event-stream"]);
    expect(Object.keys(doc.paths["/v1/jobs"]!.post!.requestBody!.content)).toEqual([
      "multipart/form-data",
      "application/json",
    ]);
  });

  it("marks no option with a default, nor the list's limit, as required", async () => {
    const doc = await documentOf();
    expect(doc.components.schemas.UpscaleOptions!.required).toBeUndefined();
    expect(doc.components.schemas.BackgroundRemovalOptions!.required).toBeUndefined();
    const limit = doc.paths["/v1/jobs"]!.get!.parameters!.find((p) => p.name === "limit");
    expect(limit).toMatchObject({ in: "query", required: false });
    const ops = (await h.app.inject({ method: "GET", url: "/v1/ops" })).json<{
      ops: { name: string; options: { required?: string[]; properties: { model: { enum: string[] } } } }[];
    }>().ops;
    expect(ops.find((o) => o.name === "upscale")?.options).toMatchObject({
      properties: { model: { enum: ["tiny-upscale"] } },
    });
    expect(ops.every((o) => o.options.required === undefined)).toBe(true);
  });

  it("declares the bearer scheme and requires it on /v1 only when keys are configured", async () => {
    const withKeys = await documentOf({ apiKeys: KEYS });
    expect(withKeys.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: "http", scheme: "bearer" }) as unknown,
    });
    for (const [method, path] of ROUTES) {
      const expected = path === "/v1/uploads/{id}" ? [] : path.startsWith("/v1/") ? [{ bearer: [] }] : undefined;
      expect(withKeys.paths[path]![method]!.security, `${method} ${path}`).toEqual(expected);
    }
    await h.close();
    const without = await documentOf();
    expect(without.components.securitySchemes).toBeUndefined();
    expect(JSON.stringify(without.paths)).not.toContain('"security"');
  });

  it("documents Prefer and Last-Event-ID, and the headers of a waited or replayed submission", async () => {
    const doc = await documentOf();
    const submit = doc.paths["/v1/jobs"]!.post!;
    expect(submit.parameters?.map((p) => [p.in, p.name])).toEqual([
      ["header", "idempotency-key"],
      ["header", "prefer"],
    ]);
    expect(Object.keys(submit.responses["200"]!.headers!)).toEqual([
      "location",
      "preference-applied",
      "idempotent-replayed",
    ]);
    const events = doc.paths["/v1/jobs/{id}/events"]!.get!;
    expect(events.parameters?.map((p) => [p.in, p.name])).toEqual([
      ["path", "id"],
      ["header", "last-event-id"],
    ]);
  });

  it("renders at /docs", async () => {
    await documentOf();
    const ui = await h.app.inject({ method: "GET", url: "/docs/" });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers["content-type"]).toContain("text/html");
  });
});
