import { randomBytes } from "node:crypto";
import type { Job } from "@imagen/core";
import type { Pipelines } from "@imagen/imaging";
import { patternImage, truncatedJpeg } from "@imagen/testing/images";
import { parseWebhookSecret } from "@imagen/webhooks";
import { startWebhookReceiver, verifyReceivedWebhook, type WebhookReceiver } from "@imagen/webhooks/testing";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHarness, type Harness } from "../test/harness.js";
import type { WebhookDispatcherOptions } from "./webhook-dispatcher.js";

const WAIT = { timeout: 15_000, interval: 20 };
const rawSecret = `whsec_${randomBytes(32).toString("base64")}`;
/** Polls too rarely to matter: a webhook sent within a test was sent because its job ended here. */
const WEBHOOKS: WebhookDispatcherOptions = {
  secret: parseWebhookSecret(rawSecret),
  timeoutMs: 2_000,
  maxResponseBytes: 1024,
  allowPrivate: true,
  pollIntervalMs: 600_000,
};

describe("worker webhooks", () => {
  let h: Harness;
  let hook: WebhookReceiver;
  beforeEach(async () => {
    h = await createHarness();
    hook = await startWebhookReceiver();
  });
  afterEach(async () => {
    await h.close();
    await hook.close();
  });

  async function delivered(id: string): Promise<{ job: Job; event: { type: string; data: Record<string, unknown> } }> {
    const job = await vi.waitFor(async () => {
      const current = await h.job(id);
      expect(current.webhook?.state).toBe("delivered");
      return current;
    }, WAIT);
    expect(hook.received).toHaveLength(1);
    const [request] = hook.received;
    if (!request) throw new Error("no webhook arrived");
    return { job, event: verifyReceivedWebhook(rawSecret, request) as { type: string; data: Record<string, unknown> } };
  }

  it("sends one signed webhook as soon as a job succeeds", async () => {
    await h.startWorker({ webhooks: WEBHOOKS });
    const submitted = await h.submit("upscale", await patternImage({ width: 32, height: 32 }), {}, undefined, hook.url);
    const { job, event } = await delivered(submitted.id);
    expect(event.type).toBe("job.finished");
    expect(event.data).toMatchObject({ id: job.id, status: "succeeded", output: { url: `/v1/jobs/${job.id}/result` } });
    expect(job.webhook?.attempts).toEqual([{ at: expect.any(String) as string, status: 204, error: null }]);
  });

  it("sends the webhook of a job that fails permanently", async () => {
    await h.startWorker({ webhooks: WEBHOOKS });
    const image = await truncatedJpeg({ width: 64, height: 48 });
    const submitted = await h.submit("upscale", image, {}, undefined, hook.url);
    const { event } = await delivered(submitted.id);
    expect(event.data).toMatchObject({ status: "failed", error: { code: "UNSUPPORTED_IMAGE" } });
  });

  it("sends the webhook of a job that exhausted its attempts", async () => {
    const failing: Pipelines = {
      ...h.pipelines,
      run: async () => {
        throw new Error("device lost");
      },
    };
    await h.startWorker({ webhooks: WEBHOOKS, pipelines: failing });
    const submitted = await h.submit("upscale", await patternImage({ width: 16, height: 16 }), {}, undefined, hook.url);
    const { event } = await delivered(submitted.id);
    expect(event.data).toMatchObject({ status: "failed", error: { code: "MAX_ATTEMPTS_EXCEEDED" } });
  });

  it("leaves the webhook of a job that is still retrying undue", async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const flaky: Pipelines = {
      ...h.pipelines,
      run: async (...args) => {
        calls += 1;
        if (calls === 1) throw new Error("device lost");
        await released;
        return h.pipelines.run(...args);
      },
    };
    await h.startWorker({ webhooks: WEBHOOKS, pipelines: flaky });
    const submitted = await h.submit("upscale", await patternImage({ width: 16, height: 16 }), {}, undefined, hook.url);
    await vi.waitFor(() => expect(calls).toBe(2), WAIT);
    expect((await h.job(submitted.id)).webhook).toEqual({
      url: hook.url,
      state: "pending",
      attempts: [],
      nextAttemptAt: null,
    });
    release();
    expect((await delivered(submitted.id)).event.data).toMatchObject({ status: "succeeded", attempts: 2 });
  });
});
