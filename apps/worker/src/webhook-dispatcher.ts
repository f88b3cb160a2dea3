import type { Job, JobStore, Logger } from "@imagen/core";
import {
  deliverWebhook,
  standardWebhookRetryPolicy,
  type HostLookup,
  type WebhookRetryPolicy,
  type WebhookSecret,
} from "@imagen/webhooks";
import type { WorkerMetrics } from "./metrics.js";
import { webhookBody, webhookEventId } from "./webhook-payload.js";
import { claimedWebhook, settledWebhook } from "./webhook-state.js";

export interface WebhookDispatcherDeps {
  jobs: JobStore;
  metrics: WorkerMetrics;
  log: Logger;
  now?: () => Date;
}

export interface WebhookDispatcherOptions {
  secret: WebhookSecret;
  timeoutMs: number;
  maxResponseBytes: number;
  allowPrivate: boolean;
  /** How often the store is asked for due webhooks; a job that ends here is sent at once (`nudge`). */
  pollIntervalMs: number;
  /** Webhooks claimed per poll, and so sent at once. */
  batchSize?: number;
  /** How long a claim holds a try before another dispatcher may retry it; must outlast a delivery. */
  claimLeaseMs?: number;
  retry?: WebhookRetryPolicy;
  lookup?: HostLookup;
}

export interface WebhookDispatcher {
  /** Starts polling; the loop runs until `stop`. */
  start(): void;
  /** Polls now instead of at the next interval: a job has just ended. */
  nudge(): void;
  /** Stops polling and waits for the tries in flight (each bounded by the timeout) to be recorded. */
  stop(): Promise<void>;
}

/** Room for the write that records a try, after the try itself has timed out. */
const CLAIM_MARGIN_MS = 30_000;
const DEFAULT_BATCH_SIZE = 10;

/**
 * Sends the webhooks of finished jobs, at least once each. Any number of dispatchers may share a
 * store: each try is claimed by a compare-and-set on the webhook's attempt count, so one dispatcher
 * makes it; a dispatcher that dies mid-try leaves the claim to run out, and the try is made again.
 */
export function createWebhookDispatcher(
  deps: WebhookDispatcherDeps,
  options: WebhookDispatcherOptions,
): WebhookDispatcher {
  const now = deps.now ?? (() => new Date());
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const leaseMs = options.claimLeaseMs ?? options.timeoutMs + CLAIM_MARGIN_MS;
  const retry = options.retry ?? standardWebhookRetryPolicy;
  const wake = createWake();
  let loop: Promise<void> | null = null;
  let stopping = false;

  async function run(): Promise<void> {
    while (!stopping) {
      let claimedAll = false;
      try {
        const due = await deps.jobs.listWebhooksDue(now(), batchSize);
        const claimed = await Promise.all(due.map((job) => tryWebhookOf(job)));
        // A full batch that was all ours may have more behind it.
        claimedAll = due.length === batchSize && claimed.every(Boolean);
      } catch (err) {
        deps.log.warn({ err }, "webhook poll failed; polling again later");
      }
      if (!claimedAll) await wake.sleep(options.pollIntervalMs);
    }
  }

  async function tryWebhookOf(job: Job): Promise<boolean> {
    try {
      return await tryWebhook(job);
    } catch (err) {
      deps.log.warn({ err, jobId: job.id }, "webhook try failed in the job store; retrying after its claim");
      return false;
    }
  }

  /** Claims, sends and records one try; false when another dispatcher had claimed it. */
  async function tryWebhook(job: Job): Promise<boolean> {
    const webhook = job.webhook;
    if (!webhook) return false;
    const tries = webhook.attempts.length;
    const at = now();
    const claim = await deps.jobs.update(
      job.id,
      { status: job.status, webhookAttempts: tries },
      { webhook: claimedWebhook(webhook, at, leaseMs) },
    );
    if (!claim.ok) return false;
    const result = await deliverWebhook({
      url: webhook.url,
      id: webhookEventId(job),
      body: webhookBody(claim.job),
      secret: options.secret,
      timeoutMs: options.timeoutMs,
      maxResponseBytes: options.maxResponseBytes,
      allowPrivate: options.allowPrivate,
      ...(options.lookup && { lookup: options.lookup }),
    });
    const settled = settledWebhook(webhook, result, at, now(), retry);
    const recorded = await deps.jobs.update(
      job.id,
      { status: job.status, webhookAttempts: tries + 1 },
      { webhook: settled.webhook },
    );
    deps.metrics.webhookDeliveries.inc({ outcome: settled.outcome });
    deps.metrics.webhookDuration.observe({ outcome: settled.outcome }, result.durationMs / 1000);
    const fields = { jobId: job.id, attempt: tries + 1, status: result.status, durationMs: result.durationMs };
    if (!recorded.ok)
      deps.log.warn({ ...fields, reason: recorded.reason }, "webhook try not recorded: the job changed");
    else if (settled.outcome === "delivered") deps.log.info(fields, "webhook delivered");
    else deps.log.warn({ ...fields, outcome: settled.outcome, error: result.error }, "webhook try failed");
    return true;
  }

  return {
    start() {
      loop ??= run();
    },
    nudge: () => wake.now(),
    async stop() {
      stopping = true;
      wake.now();
      await loop;
    },
  };
}

/** A sleep that `now()` cuts short; a `now()` while awake makes the next sleep return at once. */
function createWake() {
  let pending = false;
  let cut: (() => void) | null = null;
  return {
    sleep(ms: number): Promise<void> {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          cut = null;
          resolve();
        };
        const timer = setTimeout(done, ms);
        cut = done;
      });
    },
    now(): void {
      if (cut) cut();
      else pending = true;
    },
  };
}
