import { patternImage } from "@imagen/testing/images";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApiHarness, multipart, type ApiHarness } from "../test/harness.js";
import { jobClient, openJobEvents, type StreamItem } from "../test/job-client.js";
import { apiKeyEntriesOfList, parseApiKeys } from "./api-keys.js";

const KEYS = parseApiKeys(apiKeyEntriesOfList("alice:alice-secret,bob:bob-secret,carol:carol-secret")).keys;
const ALICE = { authorization: "Bearer alice-secret" };
const BOB = { authorization: "Bearer bob-secret" };
const CAROL = { authorization: "Bearer carol-secret" };

interface JobBody {
  id: string;
  status: string;
  progress: number;
}

async function submit(h: ApiHarness, headers: Record<string, string> = {}): Promise<JobBody> {
  const file = await patternImage({ width: 16, height: 12 });
  const res = await h.app.inject({
    method: "POST",
    url: "/v1/jobs",
    headers,
    body: multipart({ op: "upscale", file }),
  });
  expect(res.statusCode).toBe(202);
  return res.json<JobBody>();
}

/** The job store's writes a worker makes, one at a time. */
const drive = {
  start: (h: ApiHarness, id: string) =>
    h.jobs.update(id, "queued", { status: "running", attempts: 1, startedAt: new Date().toISOString() }),
  progress: (h: ApiHarness, id: string, progress: number) => h.jobs.update(id, "running", { progress }),
  succeed: (h: ApiHarness, id: string) =>
    h.jobs.update(id, "running", {
      status: "succeeded",
      progress: 1,
      finishedAt: new Date().toISOString(),
      output: { width: 64, height: 48, format: "png", bytes: 100, key: `outputs/${id}/1.png` },
    }),
};

async function watchesOpen(h: ApiHarness, kind: string): Promise<number> {
  const text = (await h.app.inject({ method: "GET", url: "/metrics", headers: ALICE })).body;
  const value = new RegExp(`^api_job_watches_open\\{kind="${kind}"\\} (\\d+)$`, "m").exec(text)?.[1];
  if (value === undefined) throw new Error(`no api_job_watches_open{kind="${kind}"} in /metrics`);
  return Number(value);
}

describe("GET /v1/jobs/:id/events", () => {
  let h: ApiHarness;
  afterEach(async () => {
    await h.close();
  });

  it("sends the job on connect, then status and progress as the store changes, then end, and closes", async () => {
    h = await createApiHarness();
    const base = await h.listen();
    const job = await submit(h);
    const stream = await openJobEvents(base, job.id);
    expect(stream.res.headers["content-type"]).toBe("text/event-stream");
    expect(stream.res.headers["cache-control"]).toBe("no-cache");

    const opening = await stream.next();
    expect([opening?.event, JSON.parse(opening!.data)]).toEqual(["status", job]);
    await drive.start(h, job.id);
    const running = await stream.next();
    expect([running?.event, JSON.parse(running!.data)]).toEqual([
      "status",
      expect.objectContaining({ status: "running" }),
    ]);
    await drive.progress(h, job.id, 0.42);
    const progress = await stream.next();
    expect([progress?.event, progress?.data]).toEqual(["progress", '{"progress":0.42}']);
    await drive.succeed(h, job.id);
    const finished = (await jobClient(base).job(job.id)) as unknown;
    const succeeded = await stream.next();
    expect([succeeded?.event, JSON.parse(succeeded!.data)]).toEqual(["status", finished]);
    const end = await stream.next();
    expect([end?.event, JSON.parse(end!.data)]).toEqual(["end", finished]);
    expect(await stream.next()).toBeNull();

    const ids = [opening, running, progress, succeeded, end].map((e) => e?.id);
    expect(new Set(ids).size).toBe(5);
    for (const id of ids) expect(id).toMatch(/^\d+\.[\w-]+\.[01]$/);
  });

  it("answers a job that already ended with status and end at once", async () => {
    h = await createApiHarness();
    const job = await submit(h);
    await drive.start(h, job.id);
    await drive.succeed(h, job.id);
    const res = await h.app.inject({ method: "GET", url: `/v1/jobs/${job.id}/events` });
    expect(res.statusCode).toBe(200);
    expect([...res.body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual(["status", "end"]);
  });

  it("resumes from Last-Event-ID: no event twice, no state missed, and end again for an ended job", async () => {
    // No heartbeat within the test: a resumed stream with nothing new must still answer at once.
    h = await createApiHarness({ edge: { jobWatch: { heartbeatMs: 60_000 } } });
    const base = await h.listen();
    const job = await submit(h);
    const first = await openJobEvents(base, job.id);
    const queued = await first.next();
    first.close();

    // Changed while away: the current state comes first.
    await drive.start(h, job.id);
    const second = await openJobEvents(base, job.id, { "last-event-id": queued!.id! });
    const running = await second.next();
    expect([running?.event, (JSON.parse(running!.data) as JobBody).status]).toEqual(["status", "running"]);
    second.close();

    // Nothing changed: the first event is the next change, not a repeat.
    const third = await openJobEvents(base, job.id, { "last-event-id": running!.id! });
    await vi.waitFor(async () => expect(await watchesOpen(h, "events")).toBe(1));
    await drive.progress(h, job.id, 0.5);
    const progress = await third.next();
    expect([progress?.event, progress?.data]).toEqual(["progress", '{"progress":0.5}']);
    third.close();

    // Ended while away: its final state, then end.
    await drive.succeed(h, job.id);
    const fourth = await openJobEvents(base, job.id, { "last-event-id": running!.id! });
    const events = [await fourth.next(), await fourth.next(), await fourth.next()];
    expect(events.map((e) => e?.event ?? null)).toEqual(["status", "end", null]);

    // Seen the end: only end again, with the same id, so a client can tell it is no new event.
    const fifth = await openJobEvents(base, job.id, { "last-event-id": events[1]!.id! });
    expect([await fifth.next(), await fifth.next()]).toEqual([events[1], null]);
  });

  it("treats an unknown Last-Event-ID as a fresh connect", async () => {
    h = await createApiHarness();
    const job = await submit(h);
    await drive.start(h, job.id);
    await drive.succeed(h, job.id);
    const res = await h.app.inject({
      method: "GET",
      url: `/v1/jobs/${job.id}/events`,
      headers: { "last-event-id": "not-an-id" },
    });
    expect([...res.body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual(["status", "end"]);
  });

  it("sends a comment line every heartbeat while nothing changes", async () => {
    h = await createApiHarness({ edge: { jobWatch: { heartbeatMs: 50 } } });
    const base = await h.listen();
    const job = await submit(h);
    const stream = await openJobEvents(base, job.id);
    const seen: StreamItem[] = [];
    for await (const item of stream.items) {
      seen.push(item);
      if (seen.filter((i) => "comment" in i).length === 2) break;
    }
    expect(seen.map((i) => ("comment" in i ? `: ${i.comment}` : i.event))).toEqual(["status", ": ping", ": ping"]);
    stream.close();
  });

  it("outlives the server's request timeout: it bounds receiving the request, not the stream", async () => {
    h = await createApiHarness({
      edge: {
        timeouts: { requestTimeoutMs: 500, headersTimeoutMs: 500, keepAliveTimeoutMs: 500 },
        jobWatch: { heartbeatMs: 200 },
      },
    });
    const base = await h.listen();
    const job = await submit(h);
    const stream = await openJobEvents(base, job.id);
    await stream.next();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await drive.start(h, job.id);
    expect((await stream.next())?.event).toBe("status");
    stream.close();
  });

  it("stops watching when the client goes away", async () => {
    h = await createApiHarness();
    const base = await h.listen();
    const job = await submit(h);
    const stream = await openJobEvents(base, job.id);
    await stream.next();
    expect(await watchesOpen(h, "events")).toBe(1);
    stream.close();
    await vi.waitFor(async () => expect(await watchesOpen(h, "events")).toBe(0));
  });

  it("ends open streams when the server closes, at once and without end", async () => {
    h = await createApiHarness();
    const base = await h.listen();
    const job = await submit(h);
    const stream = await openJobEvents(base, job.id);
    await stream.next();
    const started = Date.now();
    await h.app.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await stream.next()).toBeNull();
  });

  it("answers an unknown job 404 JOB_NOT_FOUND without keys", async () => {
    h = await createApiHarness();
    const res = await h.app.inject({ method: "GET", url: "/v1/jobs/no-such-job/events" });
    expect([res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([404, "JOB_NOT_FOUND"]);
  });

  it("with keys, answers another key's job and an unknown one 404 JOB_NOT_FOUND, and no key 401", async () => {
    h = await createApiHarness({ edge: { apiKeys: KEYS } });
    const job = await submit(h, ALICE);
    for (const [url, headers, status, code] of [
      [`/v1/jobs/${job.id}/events`, BOB, 404, "JOB_NOT_FOUND"],
      ["/v1/jobs/no-such-job/events", ALICE, 404, "JOB_NOT_FOUND"],
      [`/v1/jobs/${job.id}/events`, {}, 401, "UNAUTHENTICATED"],
    ] as const) {
      const res = await h.app.inject({ method: "GET", url, headers });
      expect([res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([status, code]);
    }
    await drive.start(h, job.id);
    await drive.succeed(h, job.id);
    const own = await h.app.inject({ method: "GET", url: `/v1/jobs/${job.id}/events`, headers: ALICE });
    expect(own.statusCode).toBe(200);
  });

  it("caps open streams: 429 QUOTA_EXCEEDED past the key's, 503 OVERLOADED past the server's", async () => {
    h = await createApiHarness({ edge: { apiKeys: KEYS, jobWatch: { maxOpenPerKey: 1, maxOpen: 2 } } });
    const base = await h.listen();
    const [alices, bobs, carols] = [await submit(h, ALICE), await submit(h, BOB), await submit(h, CAROL)];
    const refusal = async (id: string, headers: Record<string, string>) => {
      const res = await fetch(`${base}/v1/jobs/${id}/events`, { headers });
      const body = (await res.json()) as { error: { code: string } };
      return [res.status, body.error.code, res.headers.get("retry-after")];
    };
    const alice = await openJobEvents(base, alices.id, ALICE);
    expect(await refusal(alices.id, ALICE)).toEqual([429, "QUOTA_EXCEEDED", "5"]);
    const bob = await openJobEvents(base, bobs.id, BOB);
    expect(await refusal(carols.id, CAROL)).toEqual([503, "OVERLOADED", "5"]);
    alice.close();
    await vi.waitFor(async () => expect(await watchesOpen(h, "events")).toBe(1));
    const carol = await openJobEvents(base, carols.id, CAROL);
    bob.close();
    carol.close();
    await vi.waitFor(async () => expect(await watchesOpen(h, "events")).toBe(0));
  });

  it("follows a job that a real worker runs, from queued to end", async () => {
    h = await createApiHarness();
    const base = await h.listen();
    const job = await submit(h);
    const stream = await openJobEvents(base, job.id);
    await h.startWorker();
    const events: { event: string; id: string | undefined; data: string }[] = [];
    for (let e = await stream.next(60_000); e !== null; e = await stream.next(60_000)) events.push(e);
    const statuses = events.filter((e) => e.event === "status").map((e) => (JSON.parse(e.data) as JobBody).status);
    expect(statuses[0]).toBe("queued");
    expect(statuses.at(-1)).toBe("succeeded");
    expect(events.at(-1)?.event).toBe("end");
    expect(events.filter((e) => e.event === "end")).toHaveLength(1);
    const progress = events
      .filter((e) => e.event === "progress")
      .map((e) => (JSON.parse(e.data) as { progress: number }).progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(JSON.parse(events.at(-1)!.data)).toEqual(await jobClient(base).job(job.id));
  });
});
