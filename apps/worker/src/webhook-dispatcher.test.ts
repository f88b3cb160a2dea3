import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createSqliteJobStore } from "@imagen/backend-local";
import { createLogger, newJobId, newQueuedJob, type Job, type JobStatus, type JobStore } from "@imagen/core";
import { parseWebhookSecret, type WebhookRetryPolicy } from "@imagen/webhooks";
import { startWebhookReceiver, verifyReceivedWebhook, type WebhookReceiver } from "@imagen/webhooks/testing";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createWorkerMetrics } from "./metrics.js";
import {
  createWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
} from "./webhook-dispatcher.js";
import { claimedWebhook, UNRECORDED_ATTEMPT } from "./webhook-state.js";

const WAIT = { timeout: 10_000, interval: 20 };
const rawSecret = `whsec_${randomBytes(32).toString("base64")}`;
/** Tries again after 20 ms, gives up after 3 tries. */
const FAST_RETRY: WebhookRetryPolicy = { delayMs: () => 20, givesUp: (attempts) => attempts >= 3 };
const log = createLogger({ service: "webhook-test", level: "silent" });

let dir: string;
let file: string;
let jobs: JobStore;
const stores: JobStore[] = [];
const dispatchers: WebhookDispatcher[] = [];
const receivers: WebhookReceiver[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "imagen-webhooks-"));
  file = path.join(dir, "imagen.db");
  jobs = openStore();
});

afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

/** A store on the test's SQLite file; several act as several worker processes. */
function openStore(): JobStore {
  const store = createSqliteJobStore({ file });
  stores.push(store);
  return store;
}

async function receiver(...args: Parameters<typeof startWebhookReceiver>): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver(...args);
  receivers.push(started);
  return started;
}

function startDispatcher(
  options: Partial<WebhookDispatcherOptions> = {},
  store: JobStore = jobs,
  registry = new Registry(),
): WebhookDispatcher {
  const dispatcher = createWebhookDispatcher(
    { jobs: store, metrics: createWorkerMetrics(registry), log },
    {
      secret: parseWebhookSecret(rawSecret),
      timeoutMs: 2_000,
      maxResponseBytes: 1024,
      allowPrivate: true,
      pollIntervalMs: 20,
      retry: FAST_RETRY,
      ...options,
    },
  );
  dispatchers.push(dispatcher);
  dispatcher.start();
  return dispatcher;
}

/** A job that ended with a webhook due now, as the worker (or, for a cancel, the API) stores it. */
async function finishedJob(url: string, status: JobStatus = "succeeded"): Promise<Job> {
  const at = new Date().toISOString();
  const job: Job = {
    ...newQueuedJob(
      { id: newJobId(), op: "upscale", options: {}, input: { width: 8, height: 8, format: "png", bytes: 100 } },
      new Date(),
    ),
    status,
    attempts: 1,
    finishedAt: at,
    output:
      status === "succeeded" ? { width: 32, height: 32, format: "png", bytes: 400, key: "outputs/x/1.png" } : null,
    webhook: { url, state: "pending", attempts: [], nextAttemptAt: at },
  };
  await jobs.create(job);
  return job;
}

async function waitForWebhookState(id: string, state: "delivered" | "failed"): Promise<Job> {
  return vi.waitFor(async () => {
    const job = await jobs.get(id);
    expect(job?.webhook?.state).toBe(state);
    return job as Job;
  }, WAIT);
}

describe("webhook dispatcher", () => {
  it("sends a finished job's webhook once, signed, with the job as clients see it", async () => {
    const hook = await receiver();
    const job = await finishedJob(hook.url);
    const registry = new Registry();
    startDispatcher({}, jobs, registry);
    const done = await waitForWebhookState(job.id, "delivered");

    expect(hook.received).toHaveLength(1);
    const [request] = hook.received;
    if (!request) throw new Error("no webhook arrived");
    expect(request.headers["webhook-id"]).toBe(`${job.id}:finished`);
    const event = verifyReceivedWebhook(rawSecret, request) as Record<string, unknown>;
    expect(event).toMatchObject({
      type: "job.finished",
      timestamp: job.finishedAt,
      data: { id: job.id, status: "succeeded", output: { width: 32, url: `/v1/jobs/${job.id}/result` } },
    });
    expect(JSON.stringify(event)).not.toContain("outputs/x/1.png");
    expect(event.data).not.toHaveProperty("webhook");
    expect(event.data).not.toHaveProperty("owner");

    expect(done.webhook).toMatchObject({ state: "delivered", nextAttemptAt: null });
    expect(done.webhook?.attempts).toEqual([{ at: expect.any(String) as string, status: 204, error: null }]);
    expect(await registry.getSingleMetricAsString("worker_webhook_deliveries_total")).toContain(
      'worker_webhook_deliveries_total{outcome="delivered"} 1',
    );
  });

  it("retries a receiver that fails twice, recording every try on the job", async () => {
    const hook = await receiver((_, response, index) => response.writeHead(index < 2 ? 500 : 200).end());
    const job = await finishedJob(hook.url);
    const registry = new Registry();
    startDispatcher({}, jobs, registry);
    const done = await waitForWebhookState(job.id, "delivered");

    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((r) => r.headers["webhook-id"]))).toEqual(new Set([`${job.id}:finished`]));
    expect(done.webhook?.attempts.map(({ status, error }) => ({ status, error }))).toEqual([
      { status: 500, error: "HTTP 500" },
      { status: 500, error: "HTTP 500" },
      { status: 200, error: null },
    ]);
    const counts = await registry.getSingleMetricAsString("worker_webhook_deliveries_total");
    expect(counts).toContain('outcome="retried"} 2');
    expect(counts).toContain('outcome="delivered"} 1');
  });

  it("gives up when the retry policy does, and at once on 410 Gone", async () => {
    const failing = await receiver((_, response) => response.writeHead(502).end());
    const gone = await receiver((_, response) => response.writeHead(410).end());
    const retried = await finishedJob(failing.url, "failed");
    const refused = await finishedJob(gone.url);
    startDispatcher();

    const exhausted = await waitForWebhookState(retried.id, "failed");
    expect(exhausted.webhook?.attempts).toHaveLength(3);
    expect(exhausted.webhook?.nextAttemptAt).toBeNull();
    const stopped = await waitForWebhookState(refused.id, "failed");
    expect(stopped.webhook?.attempts.map((a) => a.status)).toEqual([410]);
  });

  it("sends the webhook of a job the API canceled", async () => {
    const hook = await receiver();
    const job = await finishedJob(hook.url, "canceled");
    startDispatcher();
    await waitForWebhookState(job.id, "delivered");
    expect(JSON.parse(hook.received[0]?.body ?? "{}")).toMatchObject({ data: { status: "canceled", output: null } });
  });

  it("records a receiver on an internal address as a failed try without allowPrivate", async () => {
    const hook = await receiver();
    const job = await finishedJob(hook.url);
    startDispatcher({ allowPrivate: false });
    const done = await waitForWebhookState(job.id, "failed");
    expect(done.webhook?.attempts[0]?.error).toMatch(/but 127\.0\.0\.1 is in a loopback range/);
    expect(hook.received).toHaveLength(0);
  });

  it("tries again after the claim lease when a dispatcher claimed a try and never recorded it", async () => {
    const hook = await receiver();
    const job = await finishedJob(hook.url);
    const leaseMs = 300;
    // A dispatcher that claims the try, then dies before sending or recording anything.
    const claimedAt = Date.now();
    if (!job.webhook) throw new Error("the job has no webhook");
    const claim = await jobs.update(
      job.id,
      { status: "succeeded", webhookAttempts: 0 },
      { webhook: claimedWebhook(job.webhook, new Date(claimedAt), leaseMs) },
    );
    expect(claim.ok).toBe(true);

    startDispatcher({ claimLeaseMs: leaseMs });
    const done = await waitForWebhookState(job.id, "delivered");
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]?.receivedAt).toBeGreaterThanOrEqual(claimedAt + leaseMs);
    expect(done.webhook?.attempts.map(({ status, error }) => ({ status, error }))).toEqual([
      { status: null, error: UNRECORDED_ATTEMPT },
      { status: 204, error: null },
    ]);
  });

  it("sends each due webhook once when two dispatchers share the store", async () => {
    const hook = await receiver();
    const finished = await Promise.all(Array.from({ length: 6 }, () => finishedJob(hook.url)));
    const other = openStore();
    const first = startDispatcher({ batchSize: 3 });
    const second = startDispatcher({ batchSize: 3 }, other);
    first.nudge();
    second.nudge();
    for (const job of finished) {
      expect((await waitForWebhookState(job.id, "delivered")).webhook?.attempts).toHaveLength(1);
    }
    const ids = hook.received.map((r) => r.headers["webhook-id"]);
    expect(ids.sort()).toEqual(finished.map((j) => `${j.id}:finished`).sort());
  });

  it("on stop, waits for the try in flight and records it", async () => {
    let arrived = () => {};
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    const hook = await receiver((_, response) => {
      arrived();
      setTimeout(() => response.writeHead(200).end(), 200);
    });
    const job = await finishedJob(hook.url);
    const dispatcher = startDispatcher();
    await inFlight;
    await dispatcher.stop();
    expect((await jobs.get(job.id))?.webhook).toMatchObject({ state: "delivered", attempts: [{ status: 200 }] });
  });

  it("sends a webhook at once when nudged, without waiting for the next poll", async () => {
    const hook = await receiver();
    let polls = 0;
    const counted: JobStore = {
      ...jobs,
      async listWebhooksDue(now, limit) {
        const due = await jobs.listWebhooksDue(now, limit);
        polls += 1;
        return due;
      },
    };
    const dispatcher = startDispatcher({ pollIntervalMs: 60_000 }, counted);
    // The first poll finds nothing; then the dispatcher sleeps for the whole interval.
    await vi.waitFor(() => expect(polls).toBe(1), WAIT);
    await new Promise((resolve) => setImmediate(resolve));
    const job = await finishedJob(hook.url);
    dispatcher.nudge();
    await waitForWebhookState(job.id, "delivered");
    expect(polls).toBe(2);
  });
});
