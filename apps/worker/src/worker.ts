import type { BlobStore, Consumer, JobQueue, JobStore, Logger, OpName } from "@imagen/core";
import type { Pipelines } from "@imagen/imaging";
import { createDeadLetterHandler } from "./dead-letters.js";
import type { WorkerMetrics } from "./metrics.js";
import { createJobProcessor } from "./process-job.js";
import type { WebhookDispatcher } from "./webhook-dispatcher.js";

export interface WorkerDeps {
  jobs: JobStore;
  queue: JobQueue;
  blobs: BlobStore;
  pipelines: Pipelines;
  metrics: WorkerMetrics;
  log: Logger;
  /** Sends the webhooks of finished jobs; none: this worker sends none (no IMAGEN_WEBHOOK_SECRET). */
  webhooks?: WebhookDispatcher | undefined;
}

export interface WorkerOptions {
  ops: readonly OpName[];
  concurrency: number;
  drainTimeoutMs: number;
  progressIntervalMs: number;
}

export interface Worker {
  /**
   * Starts the webhook dispatcher, loads and warms each op's model, then starts consuming. An op
   * whose model fails is not consumed.
   */
  start(): Promise<void>;
  /** Readiness: empty when every configured op is being consumed; else what is wrong, per op. */
  problems(): string[];
  /**
   * Why this worker will not run jobs of `op`, in words for a client (details are in the log and
   * `/readyz`), or null while it runs them or is still starting them.
   */
  opProblem(op: OpName): string | null;
  /**
   * Stops pulling; in-flight jobs get `drainTimeoutMs`, then are released to the queue. Then stops
   * the webhook dispatcher, once the tries in flight are recorded.
   */
  stop(): Promise<void>;
}

const STARTING = "starting";

/** The consumer loop of every configured op, plus the dead-letter handling for each. */
export function createWorker(deps: WorkerDeps, options: WorkerOptions): Worker {
  const onJobFinished = () => deps.webhooks?.nudge();
  const processJob = createJobProcessor({ ...deps, progressIntervalMs: options.progressIntervalMs, onJobFinished });
  const onDeadLetter = createDeadLetterHandler({ ...deps, onJobFinished });
  const shutdown = new AbortController();
  const consumers: Consumer[] = [];
  const problems = new Map<OpName, string>(options.ops.map((op) => [op, STARTING]));
  let stopping = false;

  async function startOp(op: OpName): Promise<void> {
    try {
      await deps.pipelines.warmUp([op]);
    } catch (err) {
      problems.set(op, err instanceof Error ? err.message : String(err));
      deps.log.error({ op, err }, "op not started: its model could not be loaded");
      return;
    }
    if (stopping) return;
    consumers.push(
      deps.queue.consume(op, (delivery) => processJob(delivery, shutdown.signal), {
        concurrency: options.concurrency,
      }),
      deps.queue.consumeDeadLetters(op, onDeadLetter),
    );
    problems.delete(op);
    deps.log.info({ op, concurrency: options.concurrency }, "consuming");
  }

  return {
    async start() {
      deps.webhooks?.start();
      for (const op of options.ops) await startOp(op);
    },
    problems: () => [...problems].map(([op, why]) => `${op}: ${why}`),
    opProblem(op) {
      if (!options.ops.includes(op)) return `this server's worker does not run ${op} (IMAGEN_WORKER_OPS)`;
      const why = problems.get(op);
      return why === undefined || why === STARTING ? null : `the models of ${op} could not be loaded at start-up`;
    },
    async stop() {
      stopping = true;
      // Jobs still running at the deadline are aborted (they stop at the next tile and release
      // their job); the consumer then waits for them and hands their messages back.
      const deadline = setTimeout(() => shutdown.abort(new Error("worker is shutting down")), options.drainTimeoutMs);
      try {
        await Promise.all(consumers.map((c) => c.close({ drainTimeoutMs: options.drainTimeoutMs + 10_000 })));
      } finally {
        clearTimeout(deadline);
      }
      // After the consumers: jobs that end while draining still get their webhook sent.
      await deps.webhooks?.stop();
    },
  };
}
