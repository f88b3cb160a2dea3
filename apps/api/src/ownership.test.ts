import { patternImage } from "@imagen/testing/images";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiHarness, multipart, type ApiHarness } from "../test/harness.js";
import { apiKeyEntriesOfList, parseApiKeys } from "./api-keys.js";

const KEYS = parseApiKeys(apiKeyEntriesOfList("alice:alice-secret,bob:bob-secret")).keys;
const as = (secret: string) => ({ authorization: `Bearer ${secret}` });
const ALICE = as("alice-secret");
const BOB = as("bob-secret");

interface JobBody {
  id: string;
  status: string;
}

describe("jobs belong to the key that made them", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await createApiHarness({ edge: { apiKeys: KEYS } });
  });
  afterEach(async () => {
    await h.close();
  });

  async function submit(headers: Record<string, string>): Promise<JobBody> {
    const file = await patternImage({ width: 32, height: 24 });
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/jobs",
      headers,
      body: multipart({ op: "upscale", file }),
    });
    expect(res.statusCode).toBe(202);
    return res.json<JobBody>();
  }

  it("stores the key's name as the job's owner", async () => {
    const job = await submit(ALICE);
    expect(await h.jobs.get(job.id)).toMatchObject({ owner: "alice" });
  });

  it("answers another key's job as missing: 404 JOB_NOT_FOUND for status, result and cancel", async () => {
    const job = await submit(ALICE);
    for (const [method, url] of [
      ["GET", `/v1/jobs/${job.id}`],
      ["GET", `/v1/jobs/${job.id}/result`],
      ["DELETE", `/v1/jobs/${job.id}`],
    ] as const) {
      const res = await h.app.inject({ method, url, headers: BOB });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json(), `${method} ${url}`).toMatchObject({ error: { code: "JOB_NOT_FOUND" } });
    }
    expect(await h.jobs.get(job.id)).toMatchObject({ status: "queued" });
    const own = await h.app.inject({ method: "GET", url: `/v1/jobs/${job.id}`, headers: ALICE });
    expect(own.json()).toMatchObject({ id: job.id, status: "queued" });
  });

  it("lists only the caller's jobs", async () => {
    const alices = [await submit(ALICE), await submit(ALICE)];
    const bobs = [await submit(BOB)];
    const list = async (headers: Record<string, string>) =>
      (await h.app.inject({ method: "GET", url: "/v1/jobs", headers }))
        .json<{ jobs: JobBody[] }>()
        .jobs.map((j) => j.id);
    expect((await list(ALICE)).sort()).toEqual(alices.map((j) => j.id).sort());
    expect(await list(BOB)).toEqual(bobs.map((j) => j.id));
  });

  it("lets only the creating key make a job from a two-phase upload", async () => {
    const ticket = (
      await h.app.inject({ method: "POST", url: "/v1/uploads", headers: ALICE, payload: { contentType: "image/png" } })
    ).json<{ id: string; url: string }>();
    // The PUT needs the URL's token, not a key, as a signed storage URL would.
    const put = await h.app.inject({
      method: "PUT",
      url: ticket.url,
      headers: { "content-type": "image/png" },
      payload: await patternImage({ width: 16, height: 16 }),
    });
    expect(put.statusCode).toBe(200);
    const payload = { op: "upscale", input: { uploadId: ticket.id } };
    const bob = await h.app.inject({ method: "POST", url: "/v1/jobs", headers: BOB, payload });
    expect(bob.statusCode).toBe(404);
    expect(bob.json()).toMatchObject({ error: { code: "UPLOAD_NOT_FOUND" } });
    const alice = await h.app.inject({ method: "POST", url: "/v1/jobs", headers: ALICE, payload });
    expect(alice.statusCode).toBe(202);
  });
});

describe("quotas", () => {
  it("refuses a key's submission over MAX_ACTIVE_JOBS_PER_KEY with 429 QUOTA_EXCEEDED, Retry-After and nothing stored", async () => {
    const h = await createApiHarness({ edge: { apiKeys: KEYS, quotas: { maxActiveJobsPerKey: 2, maxQueuedJobs: 0 } } });
    try {
      const file = await patternImage({ width: 16, height: 16 });
      const submit = (headers: Record<string, string>) =>
        h.app.inject({ method: "POST", url: "/v1/jobs", headers, body: multipart({ op: "upscale", file }) });
      const first = await submit(ALICE);
      expect((await submit(ALICE)).statusCode).toBe(202);
      const over = await submit(ALICE);
      expect(over.statusCode).toBe(429);
      expect(over.json()).toMatchObject({ error: { code: "QUOTA_EXCEEDED" } });
      expect(Number(over.headers["retry-after"])).toBeGreaterThan(0);
      expect(await h.jobs.count({ statuses: ["queued"], owner: "alice" })).toBe(2);
      expect(await h.storedInputs()).toHaveLength(2);
      // Another key has its own quota; an ended job frees a place.
      expect((await submit(BOB)).statusCode).toBe(202);
      await h.app.inject({ method: "DELETE", url: `/v1/jobs/${first.json<JobBody>().id}`, headers: ALICE });
      expect((await submit(ALICE)).statusCode).toBe(202);
    } finally {
      await h.close();
    }
  });

  it("refuses a submission when the op's backlog is at MAX_QUEUED_JOBS with 503 QUEUE_FULL and Retry-After", async () => {
    const h = await createApiHarness({ edge: { quotas: { maxActiveJobsPerKey: 0, maxQueuedJobs: 2 } } });
    try {
      const file = await patternImage({ width: 16, height: 16 });
      const submit = (op: string) => h.app.inject({ method: "POST", url: "/v1/jobs", body: multipart({ op, file }) });
      expect((await submit("upscale")).statusCode).toBe(202);
      expect((await submit("upscale")).statusCode).toBe(202);
      const full = await submit("upscale");
      expect(full.statusCode).toBe(503);
      expect(full.json()).toMatchObject({ error: { code: "QUEUE_FULL", details: { op: "upscale", limit: 2 } } });
      expect(Number(full.headers["retry-after"])).toBeGreaterThan(0);
      expect(await h.storedInputs()).toHaveLength(2);
      // The limit is per op.
      expect((await submit("enhance")).statusCode).toBe(202);
    } finally {
      await h.close();
    }
  });
});

describe("Idempotency-Key", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await createApiHarness({ edge: { apiKeys: KEYS } });
  });
  afterEach(async () => {
    await h.close();
  });

  async function submit(key: string, headers: Record<string, string>, options = '{"scale":2}') {
    const file = await patternImage({ width: 32, height: 24 });
    return h.app.inject({
      method: "POST",
      url: "/v1/jobs",
      headers: { ...headers, "idempotency-key": key },
      body: multipart({ op: "upscale", options, file }),
    });
  }

  it("returns the same job for the same key and request: 200 with Idempotent-Replayed, nothing new stored", async () => {
    const first = await submit("order-1", ALICE);
    expect(first.statusCode).toBe(202);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    const again = await submit("order-1", ALICE);
    expect(again.statusCode).toBe(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json<JobBody>().id).toBe(first.json<JobBody>().id);
    expect(again.headers.location).toBe(`/v1/jobs/${first.json<JobBody>().id}`);
    expect((await h.jobs.list({}, { limit: 10 })).jobs).toHaveLength(1);
    expect(await h.storedInputs()).toHaveLength(1);
    expect(await h.queuedMessages()).toBe(1);
  });

  it("refuses the same key with a different request with 409 IDEMPOTENCY_CONFLICT", async () => {
    await submit("order-1", ALICE);
    const other = await submit("order-1", ALICE, '{"scale":4}');
    expect(other.statusCode).toBe(409);
    expect(other.json()).toMatchObject({ error: { code: "IDEMPOTENCY_CONFLICT" } });
    expect((await h.jobs.list({}, { limit: 10 })).jobs).toHaveLength(1);
  });

  it("keeps keys per API key: another key's same Idempotency-Key makes its own job", async () => {
    const alice = await submit("order-1", ALICE);
    const bob = await submit("order-1", BOB);
    expect(bob.statusCode).toBe(202);
    expect(bob.json<JobBody>().id).not.toBe(alice.json<JobBody>().id);
  });

  it("makes one job of concurrent identical submissions", async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => submit("burst", ALICE)));
    const ids = new Set(results.map((res) => res.json<JobBody>().id));
    expect(ids.size).toBe(1);
    expect(results.filter((res) => res.statusCode === 202)).toHaveLength(1);
    expect(await h.storedInputs()).toHaveLength(1);
  });

  it("holds across an API restart on the same data", async () => {
    const first = await submit("order-9", ALICE);
    const restarted = await h.reopenApp();
    const file = await patternImage({ width: 32, height: 24 });
    const again = await restarted.inject({
      method: "POST",
      url: "/v1/jobs",
      headers: { ...ALICE, "idempotency-key": "order-9" },
      body: multipart({ op: "upscale", options: '{"scale":2}', file }),
    });
    expect(again.statusCode).toBe(200);
    expect(again.json<JobBody>().id).toBe(first.json<JobBody>().id);
  });
});
