import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createLocalBackend } from "@imagen/backend-local";
import { createLogger } from "@imagen/core";
import { createModelRegistry, loadManifest } from "@imagen/catalogue";
import { patternImage } from "@imagen/testing/images";
import { writeTestModels } from "@imagen/testing/stack";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApiHarness, LIMITS, multipart, type ApiHarness } from "../test/harness.js";
import { buildApp, type AppOptions } from "./app.js";
import { loadApiConfig } from "./config.js";

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
});

/** `buildApp` on a local backend in a temp dir with the edge settings given (the harness takes none). */
async function createEdgeApp(edge: Partial<AppOptions> = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), "imagen-edge-"));
  const models = await writeTestModels(dir);
  const log = createLogger({ service: "api-test", level: "silent" });
  const warnings = vi.spyOn(log, "warn");
  const queue = { leaseMs: 2_000, pollIntervalMs: 20, maxAttempts: 3, backoffBaseMs: 10, backoffMaxMs: 50 };
  const backend = createLocalBackend({ dataDir: path.join(dir, "data"), queue, log });
  const app: FastifyInstance = await buildApp(
    {
      ...backend,
      models: createModelRegistry({ manifest: await loadManifest(models.manifestPath), modelDir: models.modelDir }),
      localRun: { opProblem: () => null },
      log,
      metricsRegistry: new Registry(),
      readiness: async () => [],
    },
    { limits: LIMITS, resultUrlTtlS: 60, uploadUrlTtlS: 60, ...edge },
  );
  return {
    app,
    jobs: backend.jobs,
    warnings,
    async close() {
      await app.close();
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
type EdgeApp = Awaited<ReturnType<typeof createEdgeApp>>;

const hex = (secret: string) => createHash("sha256").update(secret).digest("hex");
const KEYS = loadApiConfig({ IMAGEN_API_KEYS: `alice:alice-secret,bob:sha256:${hex("bob-secret")}` }).apiKeys;
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

function expectError(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.json()).toEqual({
    error: { code, message: expect.any(String) as unknown },
    requestId: res.headers["x-request-id"],
  });
}

describe("API keys", () => {
  let e: EdgeApp;
  afterEach(async () => {
    await e.close();
  });

  it("without keys, leaves /v1 open and warns at start", async () => {
    e = await createEdgeApp();
    expect((await e.app.inject({ method: "GET", url: "/v1/ops" })).statusCode).toBe(200);
    expect(e.warnings).toHaveBeenCalledWith(expect.anything(), "no api keys configured: every /v1 route is open");
  });

  it("with keys, answers a /v1 request without one 401 UNAUTHENTICATED with WWW-Authenticate: Bearer", async () => {
    e = await createEdgeApp({ apiKeys: KEYS });
    expect(e.warnings).not.toHaveBeenCalled();
    for (const url of ["/v1/ops", "/v1/jobs", "/v1/jobs/some-id"]) {
      const res = await e.app.inject({ method: "GET", url });
      expectError(res, 401, "UNAUTHENTICATED");
      expect(res.headers["www-authenticate"]).toBe("Bearer");
    }
  });

  it("refuses a wrong key, and a header of another scheme", async () => {
    e = await createEdgeApp({ apiKeys: KEYS });
    for (const authorization of [
      "Bearer alice-secreT",
      `Bearer ${hex("bob-secret")}`,
      "Basic YWxpY2U6YWxpY2Utc2VjcmV0",
    ]) {
      const res = await e.app.inject({ method: "GET", url: "/v1/ops", headers: { authorization } });
      expectError(res, 401, "UNAUTHENTICATED");
      expect(res.headers["www-authenticate"]).toBe("Bearer");
    }
  });

  it("accepts a plain and a hashed key", async () => {
    e = await createEdgeApp({ apiKeys: KEYS });
    expect((await e.app.inject({ method: "GET", url: "/v1/ops", headers: bearer("alice-secret") })).statusCode).toBe(
      200,
    );
    expect((await e.app.inject({ method: "GET", url: "/v1/ops", headers: bearer("bob-secret") })).statusCode).toBe(200);
  });

  it("accepts a key from a key file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "imagen-keys-"));
    const file = path.join(dir, "api-keys");
    await import("node:fs/promises").then((fs) => fs.writeFile(file, `# ci\nci:sha256:${hex("ci-secret")}\n`));
    e = await createEdgeApp({ apiKeys: loadApiConfig({ IMAGEN_API_KEYS_FILE: file }).apiKeys });
    await rm(dir, { recursive: true, force: true });
    expect((await e.app.inject({ method: "GET", url: "/v1/ops", headers: bearer("ci-secret") })).statusCode).toBe(200);
  });

  it("stores nothing for a refused submission, and makes the key's name the job's owner", async () => {
    e = await createEdgeApp({ apiKeys: KEYS });
    const file = await patternImage({ width: 8, height: 8 });
    const refused = await e.app.inject({ method: "POST", url: "/v1/jobs", body: multipart({ op: "enhance", file }) });
    expectError(refused, 401, "UNAUTHENTICATED");
    expect((await e.jobs.list({}, { limit: 10 })).jobs).toEqual([]);
    const accepted = await e.app.inject({
      method: "POST",
      url: "/v1/jobs",
      headers: bearer("bob-secret"),
      body: multipart({ op: "enhance", file }),
    });
    expect(accepted.statusCode).toBe(202);
    expect((await e.jobs.get(accepted.json<{ id: string }>().id))?.owner).toBe("bob");
  });

  it("leaves health, the web page, the docs and the OpenAPI document open", async () => {
    e = await createEdgeApp({ apiKeys: KEYS });
    for (const url of ["/healthz", "/readyz", "/", "/docs/", "/openapi.json"]) {
      expect((await e.app.inject({ method: "GET", url })).statusCode, url).toBe(200);
    }
  });

  it("puts /metrics behind a key when it is served on the API port", async () => {
    e = await createEdgeApp({ apiKeys: KEYS });
    expectError(await e.app.inject({ method: "GET", url: "/metrics" }), 401, "UNAUTHENTICATED");
    expect((await e.app.inject({ method: "GET", url: "/metrics", headers: bearer("alice-secret") })).statusCode).toBe(
      200,
    );
  });
});

describe("METRICS_PORT", () => {
  it("takes /metrics off the API port: 404 there", async () => {
    const e = await createEdgeApp({ metricsPort: 9464 });
    expectError(await e.app.inject({ method: "GET", url: "/metrics" }), 404, "NOT_FOUND");
    await e.close();
  });
});

describe("rate limit", () => {
  let e: EdgeApp;
  afterEach(async () => {
    await e.close();
  });

  it("answers past the limit 429 RATE_LIMITED with Retry-After, per key", async () => {
    e = await createEdgeApp({ apiKeys: KEYS, rateLimitPerMin: 2 });
    const asAlice = () => e.app.inject({ method: "GET", url: "/v1/ops", headers: bearer("alice-secret") });
    expect((await asAlice()).statusCode).toBe(200);
    expect((await asAlice()).statusCode).toBe(200);
    const limited = await asAlice();
    expectError(limited, 429, "RATE_LIMITED");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(limited.headers["retry-after"])).toBeLessThanOrEqual(60);
    const asBob = await e.app.inject({ method: "GET", url: "/v1/ops", headers: bearer("bob-secret") });
    expect(asBob.statusCode).toBe(200);
  });

  it("without keys, counts per client address; health checks are not counted", async () => {
    e = await createEdgeApp({ rateLimitPerMin: 1 });
    const from = (remoteAddress: string) => e.app.inject({ method: "GET", url: "/v1/ops", remoteAddress });
    expect((await from("10.0.0.1")).statusCode).toBe(200);
    expectError(await from("10.0.0.1"), 429, "RATE_LIMITED");
    expect((await from("10.0.0.2")).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) {
      expect((await e.app.inject({ method: "GET", url: "/healthz", remoteAddress: "10.0.0.1" })).statusCode).toBe(200);
    }
  });

  it("is off at 0", async () => {
    e = await createEdgeApp({ rateLimitPerMin: 0 });
    for (let i = 0; i < 5; i++) expect((await e.app.inject({ method: "GET", url: "/v1/ops" })).statusCode).toBe(200);
  });
});

describe("overload", () => {
  it("sheds requests with 503 OVERLOADED and Retry-After, but not health checks; readiness says why", async () => {
    // Any heap is over one byte: the first sample puts the process over the limit.
    const overload = {
      maxEventLoopDelayMs: 0,
      maxHeapUsedBytes: 1,
      maxRssBytes: 0,
      sampleIntervalMs: 10,
      retryAfterS: 7,
    };
    const e = await createEdgeApp({ overload });
    const shed = await vi.waitFor(async () => {
      const res = await e.app.inject({ method: "GET", url: "/v1/ops" });
      expect(res.statusCode).toBe(503);
      return res;
    });
    expectError(shed, 503, "OVERLOADED");
    expect(shed.headers["retry-after"]).toBe("7");
    expect((await e.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    const ready = await e.app.inject({ method: "GET", url: "/readyz" });
    expect(ready.statusCode).toBe(503);
    expect(ready.json<{ problems: string[] }>().problems).toEqual([
      expect.stringMatching(/^overloaded: heap used \d+ bytes over 1$/),
    ]);
    await e.close();
  });
});

describe("CORS", () => {
  const preflight = (app: FastifyInstance, origin: string) =>
    app.inject({
      method: "OPTIONS",
      url: "/v1/jobs",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });

  it("is off by default: no Access-Control headers for any origin", async () => {
    const e = await createEdgeApp();
    const res = await e.app.inject({ method: "GET", url: "/v1/ops", headers: { origin: "https://app.example.com" } });
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    expect((await preflight(e.app, "https://app.example.com")).headers["access-control-allow-origin"]).toBeUndefined();
    await e.close();
  });

  it("allows exactly the CORS_ORIGINS, preflight included, even where keys are required", async () => {
    const e = await createEdgeApp({ apiKeys: KEYS, corsOrigins: ["https://app.example.com"] });
    const allowed = await preflight(e.app, "https://app.example.com");
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    expect(String(allowed.headers["access-control-allow-headers"])).toContain("authorization");
    const answer = await e.app.inject({
      method: "GET",
      url: "/v1/ops",
      headers: { origin: "https://app.example.com", ...bearer("alice-secret") },
    });
    // A page on another origin reads what the API tells in headers: where the job is, what it applied.
    expect(String(answer.headers["access-control-expose-headers"]).split(/, */)).toEqual(
      expect.arrayContaining(["location", "retry-after", "idempotent-replayed", "preference-applied"]),
    );
    const refused = await e.app.inject({
      method: "GET",
      url: "/v1/ops",
      headers: { origin: "https://app.example.com" },
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    const other = await e.app.inject({
      method: "GET",
      url: "/v1/ops",
      headers: { origin: "https://evil.example.com" },
    });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    await e.close();
  });
});

/** Sends `text` on a raw loopback connection, then nothing; resolves with how long the server took to close it. */
function msUntilClosed(port: number, text: string): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(text));
    socket.on("data", () => {});
    socket.on("error", reject);
    socket.on("close", () => resolve(Date.now() - started));
  });
}

describe("server timeouts", () => {
  let e: EdgeApp;
  afterEach(async () => {
    await e.close();
  });

  async function listen(timeouts: { requestTimeoutMs: number; headersTimeoutMs: number }): Promise<number> {
    e = await createEdgeApp({ timeouts: { ...timeouts, keepAliveTimeoutMs: 1000 } });
    await e.app.listen({ host: "127.0.0.1", port: 0 });
    return (e.app.server.address() as { port: number }).port;
  }

  it("closes a connection whose headers stop half-way, within the headers timeout", async () => {
    const port = await listen({ requestTimeoutMs: 10_000, headersTimeoutMs: 1000 });
    const ms = await msUntilClosed(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(5000);
  });

  it("closes a connection whose body stops half-way, within the request timeout", async () => {
    const port = await listen({ requestTimeoutMs: 1500, headersTimeoutMs: 1000 });
    const head =
      "POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100";
    const ms = await msUntilClosed(port, `${head}\r\n\r\n{`);
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(ms).toBeLessThan(5000);
  });
});
