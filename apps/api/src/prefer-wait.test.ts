import { request } from "node:http";
import { patternImage } from "@imagen/testing/images";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApiHarness, multipart, type ApiHarness } from "../test/harness.js";
import { readPreferWait } from "./prefer-wait.js";

describe("readPreferWait", () => {
  it.each([
    ["wait=5", 5],
    ["WAIT = 5", 5],
    ['wait="7"', 7],
    ["respond-async, wait=10", 10],
    ["handling=lenient; foo=bar, wait=3; x=1", 3],
    [["return=minimal", "wait=4"], 4],
    ["wait=61", 60],
    ["wait=99999999999999999999", 60],
    ["wait=5, wait=10", 5],
    ["wait=soon, wait=10", undefined],
    ["wait=0", undefined],
    ["wait=-1", undefined],
    ["wait=1.5", undefined],
    ["wait", undefined],
    ['foo="a, wait=9"', undefined],
    ["respond-async", undefined],
    ["", undefined],
    [undefined, undefined],
  ] as const)("reads %j as %j", (header, expected) => {
    expect(readPreferWait(header as string | string[] | undefined)).toBe(expected);
  });
});

interface JobBody {
  id: string;
  status: string;
}

describe("POST /v1/jobs with Prefer: wait", () => {
  let h: ApiHarness;
  afterEach(async () => {
    await h.close();
  });

  async function post(headers: Record<string, string>) {
    const file = await patternImage({ width: 16, height: 12 });
    return h.app.inject({ method: "POST", url: "/v1/jobs", headers, body: multipart({ op: "upscale", file }) });
  }

  async function finish(id: string) {
    await h.jobs.update(id, "queued", { status: "running", attempts: 1, startedAt: new Date().toISOString() });
    await h.jobs.update(id, "running", { status: "succeeded", progress: 1, finishedAt: new Date().toISOString() });
  }

  it("answers 200 with the finished job and Preference-Applied when the job ends in time (a real worker)", async () => {
    h = await createApiHarness();
    await h.startWorker();
    const res = await post({ prefer: "wait=30" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["preference-applied"]).toBe("wait=30");
    const job = res.json<JobBody>();
    expect(job.status).toBe("succeeded");
    expect(res.headers.location).toBe(`/v1/jobs/${job.id}`);
    expect((await h.app.inject({ method: "GET", url: `/v1/jobs/${job.id}` })).json()).toEqual(job);
  });

  it("answers the usual 202 without Preference-Applied when the job has not ended after N s", async () => {
    h = await createApiHarness();
    const started = Date.now();
    const res = await post({ prefer: "wait=1" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(res.statusCode).toBe(202);
    expect(res.headers["preference-applied"]).toBeUndefined();
    expect(res.json<JobBody>().status).toBe("queued");
  });

  it.each(["wait=soon", "wait=0", "respond-async", "wait"])(
    "ignores the malformed or unknown %j: the usual 202",
    async (prefer) => {
      h = await createApiHarness();
      const res = await post({ prefer });
      expect(res.statusCode).toBe(202);
      expect(res.headers["preference-applied"]).toBeUndefined();
    },
  );

  it("honours the wait on an Idempotency-Key replay of a job still running", async () => {
    h = await createApiHarness();
    const headers = { "idempotency-key": "k-1" };
    const first = await post(headers);
    expect(first.statusCode).toBe(202);
    const id = first.json<JobBody>().id;
    const replay = post({ ...headers, prefer: "wait=20" });
    await vi.waitFor(async () => expect(await waitsOpen(h)).toBe(1), { timeout: 10_000 });
    await finish(id);
    const res = await replay;
    expect([res.statusCode, res.headers["idempotent-replayed"], res.headers["preference-applied"]]).toEqual([
      200,
      "true",
      "wait=20",
    ]);
    expect(res.json<JobBody>()).toMatchObject({ id, status: "succeeded" });

    const ended = await post({ ...headers, prefer: "wait=1" });
    expect([ended.statusCode, ended.headers["preference-applied"]]).toEqual([200, "wait=1"]);
  });

  it("answers a replay that does not end in time 200 Idempotent-Replayed, without Preference-Applied", async () => {
    h = await createApiHarness();
    const headers = { "idempotency-key": "k-2" };
    const id = (await post(headers)).json<JobBody>().id;
    const res = await post({ ...headers, prefer: "wait=1" });
    expect([res.statusCode, res.headers["idempotent-replayed"], res.headers["preference-applied"]]).toEqual([
      200,
      "true",
      undefined,
    ]);
    expect(res.json<JobBody>()).toMatchObject({ id, status: "queued" });
  });

  it("stops waiting when the client goes away", async () => {
    h = await createApiHarness();
    const base = new URL(await h.listen());
    const form = new Request(base, {
      method: "POST",
      body: multipart({ op: "upscale", file: await patternImage({ width: 16, height: 12 }) }),
    });
    const body = Buffer.from(await form.arrayBuffer());
    // node:http on a connection of its own: fetch's pool keeps a spare one open after an abort.
    const req = request(new URL("/v1/jobs", base), {
      method: "POST",
      agent: false,
      headers: { prefer: "wait=60", "content-type": form.headers.get("content-type")!, "content-length": body.length },
    });
    req.on("error", () => {});
    req.end(body);
    await vi.waitFor(async () => expect(await waitsOpen(h)).toBe(1), { timeout: 10_000 });
    req.destroy();
    await vi.waitFor(async () => expect(await waitsOpen(h)).toBe(0));
  });

  it("stops waiting when the server closes: the client gets its 202 at once", async () => {
    h = await createApiHarness();
    const pending = post({ prefer: "wait=60" });
    await vi.waitFor(async () => expect(await waitsOpen(h)).toBe(1), { timeout: 10_000 });
    const started = Date.now();
    await h.app.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await pending).statusCode).toBe(202);
  });
});

async function waitsOpen(h: ApiHarness): Promise<number> {
  const text = (await h.app.inject({ method: "GET", url: "/metrics" })).body;
  const value = /^api_job_watches_open\{kind="wait"\} (\d+)$/m.exec(text)?.[1];
  if (value === undefined) throw new Error('no api_job_watches_open{kind="wait"} in /metrics');
  return Number(value);
}
