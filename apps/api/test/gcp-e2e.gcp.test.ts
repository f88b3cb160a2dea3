/**
 * The same jobs as the local end-to-end test, on the emulated Google Cloud stack: the built API and
 * worker run as processes with IMAGEN_BACKEND=gcp against the Pub/Sub and Firestore emulators and
 * fake-gcs-server (started by backend-gcp's globalSetup). What the emulators cannot show (IAM,
 * signature checks, retry-policy timing) is listed in packages/backend-gcp's test files.
 */
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { probeImage } from "@imagen/catalogue";
import { patternImage } from "@imagen/testing/images";
import { writeTestModels } from "@imagen/testing/stack";
import { startWebhookReceiver, verifyReceivedWebhook } from "@imagen/webhooks/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { jobClient, type JobBody } from "./job-client.js";
import {
  API_MAIN,
  freePort,
  reportOutput,
  startProcess,
  stopProcess,
  waitUntilReady,
  WORKER_MAIN,
  type Running,
} from "./processes.js";

// Provided by packages/backend-gcp/test/emulators.ts, this suite's globalSetup.
declare module "vitest" {
  export interface ProvidedContext {
    gcpEmulators: { projectId: string; pubsub: string; firestore: string; storage: string };
  }
}

describe("IMAGEN_BACKEND=gcp, API and worker processes on the emulators", () => {
  let dir: string;
  let env: Record<string, string>;
  let base: string;
  let client: ReturnType<typeof jobClient>;
  const running: Running[] = [];

  beforeEach(async () => {
    const emulators = inject("gcpEmulators");
    dir = await mkdtemp(path.join(tmpdir(), "imagen-gcp-e2e-"));
    const keyFile = path.join(dir, "signer.json");
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await writeFile(
      keyFile,
      JSON.stringify({
        client_email: "signer@imagen-test.iam.gserviceaccount.com",
        private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      }),
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    client = jobClient(base);
    const unique = randomUUID().slice(0, 8);
    env = {
      PORT: String(port),
      HOST: "127.0.0.1",
      METADATA_SERVER_DETECTION: "none",
      IMAGEN_BACKEND: "gcp",
      GCP_PROJECT_ID: emulators.projectId,
      GCS_BUCKET: `e2e-${unique}`,
      PUBSUB_TOPIC_PREFIX: `e2e-${unique}`,
      FIRESTORE_COLLECTION: `jobs-${unique}`,
      IMAGEN_GCP_CREATE_RESOURCES: "true",
      PUBSUB_EMULATOR_HOST: emulators.pubsub,
      FIRESTORE_EMULATOR_HOST: emulators.firestore,
      GCS_API_ENDPOINT: emulators.storage,
      GCS_SIGNING_KEY_FILE: keyFile,
      QUEUE_LEASE_MS: "10000",
      QUEUE_BACKOFF_BASE_MS: "1000",
      // An expired lease counts as a failed delivery for the retry policy's exponential backoff, and
      // the emulator sometimes sends the first redelivery after a kill nowhere, so the message waits
      // out more leases; at the default ceiling (600 s) those backoffs can outlast the test.
      QUEUE_BACKOFF_MAX_MS: "2000",
      WORKER_PROGRESS_INTERVAL_MS: "0",
      IMAGEN_WORKER_OPS: "upscale",
      WORKER_HOST: "127.0.0.1",
    };
  });
  afterEach(async ({ task }) => {
    reportOutput(task.result?.state === "fail", running);
    for (const proc of running.splice(0)) await stopProcess(proc, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  async function start(options: { slowUpscale?: boolean; maxAttempts?: number } = {}) {
    const models = await writeTestModels(dir, { slowUpscale: options.slowUpscale });
    Object.assign(env, {
      IMAGEN_MODEL_DIR: models.modelDir,
      IMAGEN_MODEL_MANIFEST: models.manifestPath,
      QUEUE_MAX_ATTEMPTS: String(options.maxAttempts ?? 5),
    });
    const api = startProcess(API_MAIN, env);
    running.push(api);
    await waitUntilReady(`${base}/readyz`, api, 60_000);
    return startWorker();
  }

  async function startWorker(): Promise<Running> {
    const port = String(await freePort());
    const worker = startProcess(WORKER_MAIN, { ...env, WORKER_PORT: port });
    running.push(worker);
    await waitUntilReady(`http://127.0.0.1:${port}/readyz`, worker, 60_000);
    return worker;
  }

  /** Starts the stack with a slow model, SIGKILLs the worker once the job is under way, starts another. */
  async function submitAndKillWorkerMidJob(maxAttempts: number): Promise<string> {
    const first = await start({ slowUpscale: true, maxAttempts });
    const job = await client.submit(await patternImage({ width: 512, height: 512 }));
    await client.waitFor(job.id, (j) => j.status === "running" && j.progress > 0);
    await stopProcess(first, "SIGKILL");
    await startWorker();
    return job.id;
  }

  async function expectResult(done: JobBody, size: { width: number; height: number }): Promise<void> {
    const redirect = await fetch(`${base}${done.output?.url}`, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    const signed = redirect.headers.get("location") ?? "";
    expect(signed).toContain("X-Goog-Signature=");
    const bytes = Buffer.from(await (await fetch(signed)).arrayBuffer());
    expect(await probeImage(bytes, { maxInputPixels: 1e8 })).toMatchObject(size);
  }

  it("runs a multipart job and a two-phase upload job; results come from signed URLs", async () => {
    await start();
    const form = new FormData();
    form.set("op", "upscale");
    form.set("file", new Blob([await patternImage({ width: 40, height: 30 })]), "a.png");
    const direct = (await (await fetch(`${base}/v1/jobs`, { method: "POST", body: form })).json()) as JobBody;
    await expectResult(await client.waitFor(direct.id, (j) => j.status === "succeeded"), { width: 160, height: 120 });

    const ticket = (await (
      await fetch(`${base}/v1/uploads`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ contentType: "image/png" }),
      })
    ).json()) as { id: string; url: string; headers: Record<string, string> };
    expect(ticket.url).toContain(inject("gcpEmulators").storage);
    const put = await fetch(ticket.url, {
      method: "PUT",
      headers: ticket.headers,
      body: await patternImage({ width: 20, height: 10 }),
    });
    expect(put.ok).toBe(true);
    const staged = await fetch(`${base}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ op: "upscale", options: { scale: 2 }, input: { uploadId: ticket.id } }),
    });
    expect(staged.status).toBe(202);
    const done = await client.waitFor(((await staged.json()) as JobBody).id, (j) => j.status === "succeeded");
    await expectResult(done, { width: 40, height: 20 });
  });

  // After a kill the emulator's first redelivery sometimes reaches no one, so the job succeeds on
  // attempt 2, 3 or later (deliveryAttempt is best-effort on the real service too): asserted as "more than one".
  it("redelivers the job of a worker SIGKILLed mid-job; it succeeds once, on a later attempt", async () => {
    const jobId = await submitAndKillWorkerMidJob(20);
    const done = await client.waitFor(jobId, (j) => j.status === "succeeded", 120_000);
    expect(done).toMatchObject({ error: null, output: { width: 2048, height: 2048 } });
    expect(done.attempts).toBeGreaterThanOrEqual(2);
  });

  it("with API keys: jobs are per key, an Idempotency-Key replays, the webhook arrives signed", async () => {
    const secret = `whsec_${Buffer.from(randomUUID()).toString("base64")}`;
    Object.assign(env, {
      IMAGEN_API_KEYS: "alice:alice-secret,bob:bob-secret",
      IMAGEN_WEBHOOK_SECRET: secret,
      IMAGEN_WEBHOOK_ALLOW_HTTP: "true",
      IMAGEN_WEBHOOK_ALLOW_PRIVATE: "true",
    });
    const receiver = await startWebhookReceiver();
    try {
      await start();
      const alice = { authorization: "Bearer alice-secret" };
      const submit = async (headers: Record<string, string>) => {
        const form = new FormData();
        form.set("op", "upscale");
        form.set("webhook", receiver.url);
        form.set("file", new Blob([await patternImage({ width: 40, height: 30 })]), "a.png");
        return fetch(`${base}/v1/jobs`, { method: "POST", body: form, headers });
      };
      expect((await submit({})).status).toBe(401);
      const first = await submit({ ...alice, "idempotency-key": "order-1" });
      expect(first.status).toBe(202);
      const job = (await first.json()) as JobBody;
      const replay = await submit({ ...alice, "idempotency-key": "order-1" });
      expect(replay.status).toBe(200);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(((await replay.json()) as JobBody).id).toBe(job.id);
      const bob = await fetch(`${base}/v1/jobs/${job.id}`, { headers: { authorization: "Bearer bob-secret" } });
      expect(bob.status).toBe(404);

      await jobClient(base, alice).waitFor(job.id, (j) => j.status === "succeeded");
      await expect.poll(() => receiver.received.length, { timeout: 30_000 }).toBe(1);
      const event = verifyReceivedWebhook(secret, receiver.received[0]!) as { type: string; data: JobBody };
      expect(event).toMatchObject({ type: "job.finished", data: { id: job.id, status: "succeeded" } });
      // The try is recorded once the receiver has answered.
      await expect
        .poll(() => jobClient(base, alice).job(job.id), { timeout: 10_000 })
        .toMatchObject({ webhook: { state: "delivered", attempts: [{ status: 204 }] } });
    } finally {
      await receiver.close();
    }
  });

  it("dead-letters a job whose attempts run out and marks it failed", async () => {
    const jobId = await submitAndKillWorkerMidJob(1);
    const failed = await client.waitFor(jobId, (j) => j.status === "failed", 120_000);
    expect(failed.error).toMatchObject({ code: "MAX_ATTEMPTS_EXCEEDED" });
  });
});
