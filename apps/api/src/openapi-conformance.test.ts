import { decompressionBombPng, notAnImage, patternImage } from "@imagen/testing/images";
import Ajv from "ajv";
import type { LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { createApiHarness, multipart, type ApiHarness } from "../test/harness.js";
import { apiKeyEntriesOfList, parseApiKeys } from "./api-keys.js";

const KEYS = parseApiKeys(apiKeyEntriesOfList("alice:alice-secret")).keys;
const ALICE = { authorization: "Bearer alice-secret" };

interface Media {
  schema: Record<string, unknown>;
}
interface Document {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, Media> }> }>>;
  components: Record<string, unknown>;
}

/**
 * Checks real answers against the document: the status is documented for the operation, the
 * content type is one it lists, and a JSON body validates against that schema. Returns the
 * `status content-type` pairs seen, so a test can show which it covered.
 */
async function documentChecker(h: ApiHarness) {
  const doc = (await h.app.inject({ method: "GET", url: "/openapi.json" })).json<Document>();
  // OpenAPI 3.0 schemas: `nullable`, and formats (binary) that only annotate.
  const ajv = new Ajv({ nullable: true, unknownFormats: "ignore", allErrors: true });
  const seen = new Set<string>();
  return {
    seen,
    check(method: string, path: string, res: LightMyRequestResponse) {
      const label = `${method} ${path} ${res.statusCode}`;
      const op = doc.paths[path]?.[method.toLowerCase()];
      expect(op, `${method} ${path} is documented`).toBeDefined();
      const documented = op!.responses[String(res.statusCode)];
      expect(documented, `${label} is documented`).toBeDefined();
      const type = String(res.headers["content-type"] ?? "")
        .split(";")[0]!
        .trim();
      seen.add(`${res.statusCode} ${type || "-"}`);
      if (!documented!.content) {
        expect(res.body, `${label} has no body`).toBe("");
        return;
      }
      const media = documented!.content[type];
      expect(media, `${label} content type ${type} is documented`).toBeDefined();
      if (type !== "application/json") return;
      // The schema under a root holding the components, so that its $refs resolve.
      const validate = ajv.compile({ allOf: [media!.schema], components: doc.components });
      const valid = validate(res.json());
      expect(valid ? [] : validate.errors, `${label} body matches its schema`).toEqual([]);
    },
  };
}

describe("real answers match the OpenAPI document", () => {
  const harnesses: ApiHarness[] = [];
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.close();
  });
  async function harness(options: Parameters<typeof createApiHarness>[0]) {
    const h = await createApiHarness(options);
    harnesses.push(h);
    return { h, doc: await documentChecker(h) };
  }
  const image = () => patternImage({ width: 16, height: 12 });

  it("for the job routes: 200, 202, 400, 401, 404, 409, 413, 415, 422 and a succeeded job's image", async () => {
    const { h, doc } = await harness({ edge: { apiKeys: KEYS }, limits: { maxUploadBytes: 4_000 } });
    const call = async (method: "GET" | "POST" | "DELETE", url: string, path: string, extra = {}) => {
      const res = await h.app.inject({ method, url, headers: ALICE, ...extra });
      doc.check(method, path, res);
      return res;
    };
    const submit = (body: FormData, headers = {}) =>
      call("POST", "/v1/jobs", "/v1/jobs", { body, headers: { ...ALICE, ...headers } });

    const queued = await submit(multipart({ op: "upscale", file: await image() }), { "idempotency-key": "k" });
    expect(queued.statusCode).toBe(202);
    const id = queued.json<{ id: string }>().id;
    expect(
      (await submit(multipart({ op: "upscale", file: await image() }), { "idempotency-key": "k" })).statusCode,
    ).toBe(200);
    expect((await submit(multipart({ op: "sharpen", file: await image() }))).statusCode).toBe(400);
    expect((await submit(multipart({ op: "upscale", file: notAnImage() }))).statusCode).toBe(415);
    expect((await submit(multipart({ op: "enhance", file: decompressionBombPng() }))).statusCode).toBe(422);
    expect((await submit(multipart({ op: "upscale", file: Buffer.alloc(5_000) }))).statusCode).toBe(413);
    const another = await patternImage({ width: 20, height: 12 });
    expect((await submit(multipart({ op: "upscale", file: another }), { "idempotency-key": "k" })).statusCode).toBe(
      409,
    );
    const json = { payload: { op: "upscale", input: { uploadId: "no-such-upload" } } };
    expect((await call("POST", "/v1/jobs", "/v1/jobs", json)).statusCode).toBe(404);
    const unauthenticated = await h.app.inject({ method: "GET", url: `/v1/jobs/${id}` });
    doc.check("GET", "/v1/jobs/{id}", unauthenticated);
    expect(unauthenticated.statusCode).toBe(401);

    expect((await call("GET", "/v1/jobs", "/v1/jobs")).statusCode).toBe(200);
    expect((await call("GET", "/v1/jobs?limit=0", "/v1/jobs")).statusCode).toBe(400);
    expect((await call("GET", `/v1/jobs/${id}`, "/v1/jobs/{id}")).statusCode).toBe(200);
    expect((await call("GET", "/v1/jobs/no-such-job", "/v1/jobs/{id}")).statusCode).toBe(404);
    expect((await call("GET", `/v1/jobs/${id}/result`, "/v1/jobs/{id}/result")).statusCode).toBe(409);

    // A job a worker finished, and its result in the blob store.
    const other = (await submit(multipart({ op: "upscale", file: await image() }))).json<{ id: string }>().id;
    const png = await patternImage({ width: 32, height: 24 });
    await h.blobs.put(`outputs/${other}/1.png`, png, { contentType: "image/png" });
    await h.jobs.update(other, "queued", { status: "running", attempts: 1 });
    await h.jobs.update(other, "running", {
      status: "succeeded",
      progress: 1,
      finishedAt: new Date().toISOString(),
      output: { width: 32, height: 24, format: "png", bytes: png.length, key: `outputs/${other}/1.png` },
    });
    const result = await call("GET", `/v1/jobs/${other}/result`, "/v1/jobs/{id}/result");
    expect([result.statusCode, result.headers["content-type"]]).toEqual([200, "image/png"]);
    const events = await call("GET", `/v1/jobs/${other}/events`, "/v1/jobs/{id}/events");
    expect([events.statusCode, events.headers["content-type"]]).toEqual([200, "text/event-stream"]);
    const waited = await submit(multipart({ op: "upscale", file: await image() }), { prefer: "wait=1" });
    expect(waited.statusCode).toBe(202);

    expect((await call("DELETE", `/v1/jobs/${id}`, "/v1/jobs/{id}")).statusCode).toBe(200);
    expect((await call("DELETE", `/v1/jobs/${id}`, "/v1/jobs/{id}")).statusCode).toBe(409);
    expect([...doc.seen].sort()).toEqual([
      "200 application/json",
      "200 image/png",
      "200 text/event-stream",
      "202 application/json",
      "400 application/json",
      "401 application/json",
      "404 application/json",
      "409 application/json",
      "413 application/json",
      "415 application/json",
      "422 application/json",
    ]);
  });

  it("for uploads, ops and health: 200, 201, 400, 404, 413, 415 and 503", async () => {
    let problems: string[] = [];
    const { h, doc } = await harness({ limits: { maxUploadBytes: 4_000 }, readiness: async () => problems });
    const call = async (method: "GET" | "POST" | "PUT", url: string, path: string, extra = {}) => {
      const res = await h.app.inject({ method, url, ...extra });
      doc.check(method, path, res);
      return res;
    };
    const ticket = await call("POST", "/v1/uploads", "/v1/uploads", { payload: { contentType: "image/png" } });
    expect(ticket.statusCode).toBe(201);
    const { url } = ticket.json<{ url: string }>();
    expect(
      (await call("POST", "/v1/uploads", "/v1/uploads", { payload: { contentType: "text/plain" } })).statusCode,
    ).toBe(400);
    const put = (target: string, body: Buffer, type = "image/png") =>
      call("PUT", target, "/v1/uploads/{id}", { payload: body, headers: { "content-type": type } });
    expect((await put(url, await image())).statusCode).toBe(200);
    expect((await put(url.replace(/token=.*/, "token=wrong"), await image())).statusCode).toBe(404);
    expect((await put(url, Buffer.alloc(5_000))).statusCode).toBe(413);
    expect((await put(url, Buffer.from("text"), "text/plain")).statusCode).toBe(415);

    expect((await call("GET", "/v1/ops", "/v1/ops")).statusCode).toBe(200);
    expect((await call("GET", "/healthz", "/healthz")).statusCode).toBe(200);
    expect((await call("GET", "/readyz", "/readyz")).statusCode).toBe(200);
    problems = ["the job store does not answer"];
    expect((await call("GET", "/readyz", "/readyz")).statusCode).toBe(503);
    expect([...doc.seen].sort()).toEqual([
      "200 application/json",
      "201 application/json",
      "400 application/json",
      "404 application/json",
      "413 application/json",
      "415 application/json",
      "503 application/json",
    ]);
  });

  it("for the edge and failures: 429 (rate limit, quota), 503 QUEUE_FULL and 500", async () => {
    const { h, doc } = await harness({
      edge: { apiKeys: KEYS, rateLimitPerMin: 3, quotas: { maxActiveJobsPerKey: 1, maxQueuedJobs: 1 } },
    });
    const submit = async () => {
      const body = multipart({ op: "upscale", file: await image() });
      const res = await h.app.inject({ method: "POST", url: "/v1/jobs", headers: ALICE, body });
      doc.check("POST", "/v1/jobs", res);
      return res;
    };
    expect((await submit()).statusCode).toBe(202);
    expect((await submit()).json<{ error: { code: string } }>().error.code).toBe("QUOTA_EXCEEDED");
    const ops = [
      await h.app.inject({ method: "GET", url: "/v1/ops", headers: ALICE }),
      await h.app.inject({ method: "GET", url: "/v1/ops", headers: ALICE }),
    ];
    expect(ops.map((res) => res.statusCode)).toEqual([200, 429]);
    for (const res of ops) doc.check("GET", "/v1/ops", res);

    const { h: full, doc: fullDoc } = await harness({ edge: { quotas: { maxActiveJobsPerKey: 0, maxQueuedJobs: 1 } } });
    for (const status of [202, 503]) {
      const res = await full.app.inject({
        method: "POST",
        url: "/v1/jobs",
        body: multipart({ op: "upscale", file: await image() }),
      });
      fullDoc.check("POST", "/v1/jobs", res);
      expect(res.statusCode).toBe(status);
    }
    await full.jobs.close();
    const failed = await full.app.inject({ method: "GET", url: "/v1/jobs/any" });
    fullDoc.check("GET", "/v1/jobs/{id}", failed);
    expect(failed.statusCode).toBe(500);
  });

  it("for a result in a store that signs URLs: 302 with Location and no body", async () => {
    const { h, doc } = await harness({
      // As the GCS store does: the result is fetched from a signed URL, not through the API.
      blobs: (local) => ({ ...local, url: async (key) => `https://storage.example/${key}?signature=s` }),
    });
    const id = (
      await h.app.inject({ method: "POST", url: "/v1/jobs", body: multipart({ op: "upscale", file: await image() }) })
    ).json<{ id: string }>().id;
    await h.jobs.update(id, "queued", { status: "running", attempts: 1 });
    await h.jobs.update(id, "running", {
      status: "succeeded",
      output: { width: 32, height: 24, format: "png", bytes: 10, key: `outputs/${id}/1.png` },
    });
    const res = await h.app.inject({ method: "GET", url: `/v1/jobs/${id}/result` });
    doc.check("GET", "/v1/jobs/{id}/result", res);
    expect([res.statusCode, res.headers.location]).toEqual([
      302,
      `https://storage.example/outputs/${id}/1.png?signature=s`,
    ]);
  });
});
