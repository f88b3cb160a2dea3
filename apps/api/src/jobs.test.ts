import { probeImage } from "@imagen/catalogue";
import { decompressionBombPng, notAnImage, patternImage, truncatedJpeg } from "@imagen/testing/images";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createApiHarness, multipart, type ApiHarness } from "../test/harness.js";

interface ErrorBody {
  error: { code: string; message: string };
  requestId: string;
}

describe("POST /v1/jobs", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await createApiHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function submit(fields: Parameters<typeof multipart>[0]) {
    return h.app.inject({ method: "POST", url: "/v1/jobs", body: multipart(fields) });
  }

  /** The refusal left nothing behind: no job, no stored input, no message. */
  async function expectNothingStored() {
    expect((await h.jobs.list({}, { limit: 100 })).jobs).toEqual([]);
    expect(await h.storedInputs()).toEqual([]);
    expect(await h.queuedMessages()).toBe(0);
  }

  it("accepts an image: 202, Location and the queued job with the input's real type and size", async () => {
    const file = await patternImage({ width: 120, height: 80, format: "webp" });
    const res = await submit({ op: "upscale", options: '{"scale":2}', file, filename: "looks-like.png" });
    expect(res.statusCode).toBe(202);
    const job = res.json<{ id: string }>();
    expect(res.headers.location).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({
      op: "upscale",
      status: "queued",
      options: { scale: 2 },
      input: { width: 120, height: 80, format: "webp", bytes: file.length },
      output: null,
      progress: 0,
      attempts: 0,
      error: null,
    });
    const read = await h.app.inject({ method: "GET", url: `/v1/jobs/${job.id}` });
    expect(read.json()).toEqual(job);
    expect(await h.storedInputs()).toEqual([job.id]);
    expect(await h.queuedMessages()).toBe(1);
  });

  it.each([
    ["not an image", 415, "UNSUPPORTED_IMAGE", async () => ({ op: "upscale", file: notAnImage() })],
    [
      "a truncated image",
      415,
      "UNSUPPORTED_IMAGE",
      async () => ({ op: "upscale", file: await truncatedJpeg({ width: 200, height: 100 }) }),
    ],
    [
      "an unknown op",
      400,
      "UNKNOWN_OP",
      async () => ({ op: "sharpen", file: await patternImage({ width: 8, height: 8 }) }),
    ],
    ["no op", 400, "UNKNOWN_OP", async () => ({ file: await patternImage({ width: 8, height: 8 }) })],
    [
      "an unknown option",
      400,
      "INVALID_OPTIONS",
      async () => ({ op: "upscale", options: '{"sharpen":1}', file: await patternImage({ width: 8, height: 8 }) }),
    ],
    [
      "an out-of-range option",
      400,
      "INVALID_OPTIONS",
      async () => ({ op: "upscale", options: '{"scale":5}', file: await patternImage({ width: 8, height: 8 }) }),
    ],
    [
      "options that are not JSON",
      400,
      "INVALID_OPTIONS",
      async () => ({ op: "upscale", options: "{scale:", file: await patternImage({ width: 8, height: 8 }) }),
    ],
    [
      "a model of another op",
      400,
      "INVALID_OPTIONS",
      async () => ({
        op: "upscale",
        options: '{"model":"tiny-enhance"}',
        file: await patternImage({ width: 8, height: 8 }),
      }),
    ],
    ["no file", 400, "MISSING_FILE", async () => ({ op: "upscale" })],
    [
      "an image over the pixel limit, from its header",
      422,
      "IMAGE_TOO_LARGE",
      async () => ({ op: "enhance", file: decompressionBombPng() }),
    ],
    [
      "a result over the output limit",
      422,
      "OUTPUT_TOO_LARGE",
      async () => ({ op: "upscale", file: await patternImage({ width: 800, height: 600 }) }),
    ],
  ] as const)("refuses %s with %i %s and stores nothing", async (_name, status, code, fields) => {
    const res = await submit(await fields());
    expect(res.statusCode).toBe(status);
    const body = res.json<ErrorBody>();
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
    expect(body.requestId).toBe(res.headers["x-request-id"]);
    await expectNothingStored();
  });

  it("names the unknown option in its message", async () => {
    const res = await submit({
      op: "upscale",
      options: '{"sharpen":1}',
      file: await patternImage({ width: 8, height: 8 }),
    });
    expect(res.json<ErrorBody>().error.message).toContain("sharpen");
  });

  it("refuses a body that is neither multipart nor JSON with 415", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/jobs",
      payload: "op=upscale",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.statusCode).toBe(415);
    expect(res.json<ErrorBody>().error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("undoes the stored input and the job when the queue cannot take the message", async () => {
    await h.queue.close();
    const res = await submit({ op: "upscale", file: await patternImage({ width: 8, height: 8 }) });
    expect(res.statusCode).toBe(503);
    expect(res.json<ErrorBody>().error.code).toBe("SERVICE_UNAVAILABLE");
    expect((await h.jobs.list({}, { limit: 10 })).jobs).toEqual([]);
    expect(await h.storedInputs()).toEqual([]);
  });
});

describe("POST /v1/jobs upload limit", () => {
  it("refuses an upload over the byte limit with 413 and stores nothing", async () => {
    const h = await createApiHarness({ limits: { maxUploadBytes: 10_000 } });
    try {
      const file = await patternImage({ width: 300, height: 300, format: "png" });
      expect(file.length).toBeGreaterThan(10_000);
      const res = await h.app.inject({ method: "POST", url: "/v1/jobs", body: multipart({ op: "upscale", file }) });
      expect(res.statusCode).toBe(413);
      expect(res.json<ErrorBody>().error.code).toBe("PAYLOAD_TOO_LARGE");
      expect((await h.jobs.list({}, { limit: 10 })).jobs).toEqual([]);
      expect(await h.storedInputs()).toEqual([]);
    } finally {
      await h.close();
    }
  });
});

describe("jobs", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await createApiHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function create(op = "upscale"): Promise<{ id: string; status: string }> {
    const file = await patternImage({ width: 40, height: 30 });
    const res = await h.app.inject({ method: "POST", url: "/v1/jobs", body: multipart({ op, file }) });
    expect(res.statusCode).toBe(202);
    return res.json();
  }

  it("answers 404 JOB_NOT_FOUND for an unknown job id", async () => {
    for (const url of ["/v1/jobs/nope", "/v1/jobs/nope/result"]) {
      const res = await h.app.inject({ method: "GET", url });
      expect(res.statusCode).toBe(404);
      expect(res.json<ErrorBody>().error.code).toBe("JOB_NOT_FOUND");
    }
    expect((await h.app.inject({ method: "DELETE", url: "/v1/jobs/nope" })).statusCode).toBe(404);
  });

  it("answers 409 JOB_NOT_FINISHED for the result of a queued job", async () => {
    const job = await create();
    const res = await h.app.inject({ method: "GET", url: `/v1/jobs/${job.id}/result` });
    expect(res.statusCode).toBe(409);
    expect(res.json<ErrorBody>().error.code).toBe("JOB_NOT_FINISHED");
  });

  it("cancels a queued job once; a second cancel is 409 JOB_FINISHED and there is no result", async () => {
    const job = await create();
    const first = await h.app.inject({ method: "DELETE", url: `/v1/jobs/${job.id}` });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ status: "canceled" });
    const second = await h.app.inject({ method: "DELETE", url: `/v1/jobs/${job.id}` });
    expect(second.statusCode).toBe(409);
    expect(second.json<ErrorBody>().error.code).toBe("JOB_FINISHED");
    const result = await h.app.inject({ method: "GET", url: `/v1/jobs/${job.id}/result` });
    expect(result.json<ErrorBody>().error.code).toBe("JOB_FAILED");
  });

  it("lists newest first, filters by status and op, and pages with a cursor", async () => {
    const ids: string[] = [];
    for (const op of ["upscale", "enhance", "upscale", "enhance", "upscale"]) ids.push((await create(op)).id);
    await h.app.inject({ method: "DELETE", url: `/v1/jobs/${ids[0]}` });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const page = (await h.app.inject({ method: "GET", url: `/v1/jobs?limit=2${query}` })).json<{
        jobs: { id: string }[];
        nextCursor: string | null;
      }>();
      expect(page.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const upscales = (await h.app.inject({ method: "GET", url: "/v1/jobs?op=upscale&status=queued" })).json<{
      jobs: { id: string }[];
    }>();
    expect(upscales.jobs.map((j) => j.id)).toEqual([ids[4], ids[2]]);
  });

  it("refuses a bad cursor, limit or status with 400", async () => {
    const cases = [
      ["/v1/jobs?cursor=garbage", "INVALID_CURSOR"],
      ["/v1/jobs?limit=1000", "VALIDATION_FAILED"],
      ["/v1/jobs?status=done", "VALIDATION_FAILED"],
    ] as const;
    for (const [url, code] of cases) {
      const res = await h.app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json<ErrorBody>().error.code, url).toBe(code);
    }
  });

  it("runs a job through the worker and serves the result image", async () => {
    await h.startWorker();
    const job = await create("upscale");
    const done = await vi.waitFor(
      async () => {
        const res = await h.app.inject({ method: "GET", url: `/v1/jobs/${job.id}` });
        const body = res.json<{ status: string; output: { url: string; width: number } | null }>();
        expect(body.status).toBe("succeeded");
        return body;
      },
      { timeout: 15_000, interval: 50 },
    );
    expect(done.output).toMatchObject({ width: 160, height: 120, format: "png", url: `/v1/jobs/${job.id}/result` });
    const result = await h.app.inject({ method: "GET", url: done.output?.url ?? "" });
    expect(result.statusCode).toBe(200);
    expect(result.headers["content-type"]).toBe("image/png");
    const image = await probeImage(result.rawPayload, { maxInputPixels: 1e7 });
    expect(image).toMatchObject({ format: "png", width: 160, height: 120 });
  });
});
