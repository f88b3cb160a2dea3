import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";
import {
  ConfigError,
  isWorkerMetricsReply,
  isWorkerStatusMessage,
  type Logger,
  type WorkerMetricsRequest,
  type WorkerStatusMessage,
} from "@imagen/core";
import type { Registry } from "prom-client";
import type { LocalRun } from "./local-run.js";

/**
 * The child's nice value: when inference saturates the cores (npm start on a laptop), the
 * scheduler runs the API first, so requests and probes are answered at once and the worker gets
 * every cycle the API does not use.
 */
export const EMBEDDED_WORKER_NICE = 10;

/**
 * glibc malloc settings for the child, each unless the environment sets it (musl and jemalloc
 * ignore them). Decoding and inference free buffers of tens to hundreds of MB from many threads;
 * by default glibc gives each thread an arena of its own, raises its mmap threshold to 32 MB after
 * the first large free, and keeps freed heap, so a worker that saw one large image holds its peak
 * for good. Two arenas, a fixed 1 MB mmap threshold (large buffers go back to the system when
 * freed) and a 1 MB trim threshold let the child fall back near its start-up size when idle. The
 * cost is fresh pages for every large tensor, worst at a session's first run at a new input size;
 * `glibc.malloc.hugetlb=1` asks for transparent huge pages on those mappings, 512× fewer page
 * faults, which takes back most of it (README, "Memory against speed").
 */
export const CHILD_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "1048576",
  MALLOC_TRIM_THRESHOLD_: "1048576",
  GLIBC_TUNABLES: "glibc.malloc.hugetlb=1",
};

/** The worker build of this checkout; `npm start` builds it beside the API's. */
export const WORKER_ENTRY = fileURLToPath(new URL("../../worker/dist/main.js", import.meta.url));

export interface EmbeddedWorker extends LocalRun {
  /** Readiness lines: the child's own, or why there is no child. */
  problems(): string[];
  /** SIGTERM, then waits for the child to drain and exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs: number): Promise<void>;
  /**
   * The child's metrics registry (prom-client's JSON form), asked for over the IPC channel; null
   * when the child has exited, fails to collect them, or does not answer within `timeoutMs`.
   */
  metrics(timeoutMs: number): Promise<WorkerMetrics | null>;
}

/** A metrics registry in prom-client's JSON form (`getMetricsAsJSON()`). */
export type WorkerMetrics = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/**
 * Runs the worker of `npm start` as a child process: inference, decoding and encoding get their own
 * event loop and heap, so the API answers whatever the worker does, and a crash of one is not a
 * crash of the other. The child reads the same environment (its health server on an ephemeral
 * port, {@link CHILD_MALLOC_ENV} where unset) and reports its state over the IPC channel; the API
 * never imports the worker.
 */
export function startEmbeddedWorker(options: { env: NodeJS.ProcessEnv; log: Logger; entry?: string }): EmbeddedWorker {
  const entry = options.entry ?? WORKER_ENTRY;
  if (!existsSync(entry)) {
    throw new ConfigError(`IMAGEN_EMBEDDED_WORKER=true needs the worker build at ${entry}: run npm run build`);
  }
  const log = options.log.child({ component: "embedded-worker" });
  let status: WorkerStatusMessage | null = null;
  let exited: string | null = null;
  let stopping = false;
  let nextMetricsId = 0;
  const metricsWaiting = new Map<number, (metrics: WorkerMetrics | null) => void>();
  const child: ChildProcess = fork(entry, [], {
    env: { ...CHILD_MALLOC_ENV, ...options.env, WORKER_PORT: "0", WORKER_HOST: "127.0.0.1" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // Threads the child starts later (its pipeline pool, ONNX Runtime's) inherit its main thread's value.
  if (child.pid !== undefined) setPriority(child.pid, EMBEDDED_WORKER_NICE);
  child.on("message", (message: unknown) => {
    if (isWorkerStatusMessage(message)) status = message;
    if (isWorkerMetricsReply(message)) {
      if ("error" in message) log.warn({ error: message.error }, "embedded worker could not collect its metrics");
      metricsWaiting.get(message.id)?.("metrics" in message ? (message.metrics as WorkerMetrics) : null);
    }
  });
  // A fork that fails to start (no such file, no resources) emits this instead of exiting.
  child.on("error", (err) => {
    exited ??= `the embedded worker could not run: ${err.message}`;
    log.error({ err }, "embedded worker failed; its ops are unavailable until the API restarts");
  });
  child.on("exit", (code, signal) => {
    exited = `the embedded worker exited (${signal ?? `code ${code}`})`;
    for (const answer of metricsWaiting.values()) answer(null);
    if (!stopping)
      log.error({ code, signal }, "embedded worker exited; its ops are unavailable until the API restarts");
  });

  return {
    opProblem(op) {
      if (exited !== null) return exited;
      return status?.opProblems[op] ?? null;
    },
    problems() {
      if (exited !== null) return [exited];
      return status ? status.problems : ["embedded worker: starting"];
    },
    metrics(timeoutMs) {
      if (exited !== null || !child.connected) return Promise.resolve(null);
      const id = nextMetricsId++;
      return new Promise((resolve) => {
        const answer = (metrics: WorkerMetrics | null): void => {
          clearTimeout(timer);
          metricsWaiting.delete(id);
          resolve(metrics);
        };
        const timer = setTimeout(() => answer(null), timeoutMs);
        metricsWaiting.set(id, answer);
        const request: WorkerMetricsRequest = { kind: "imagen-worker-metrics-request", id };
        child.send(request, (err) => {
          if (err) answer(null);
        });
      });
    },
    async stop(timeoutMs) {
      stopping = true;
      if (exited !== null) return;
      const gone = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      try {
        await gone;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
