import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { MessagePort } from "node:worker_threads";
import { Piscina, move, transferableSymbol, valueSymbol } from "piscina";
import { createLogger, type LogLevel, type OpName, type OpOptionsMap } from "@imagen/core";
import { configureSharp } from "@imagen/catalogue";
import { createModelRegistry, type ModelManifest } from "@imagen/catalogue";
import { createPipelines, type PipelineLimits, type PipelineResult, type Pipelines } from "./pipelines.js";
import { createSessionCache, type SessionCacheOptions } from "./sessions.js";
import type { TileOverrides } from "./image-to-image.js";
import { serializeError, type SerializedError } from "./thread-errors.js";
import type { JobRef } from "./ops/index.js";

/** What every pool thread is started with (structured-cloned into `workerData`). */
export interface PipelineThreadData {
  manifest: ModelManifest;
  modelDir: string;
  sessions: Omit<SessionCacheOptions, "log">;
  limits: PipelineLimits;
  tiles?: TileOverrides;
  /** See `PipelineDeps.maxTileMs`; each thread learns its own sessions' speed. */
  maxTileMs?: number;
  /** libvips threads per thread's sharp calls. */
  sharpConcurrency: number;
  /** The pool owner's log level: threads log with their own logger at the same level. */
  logLevel: LogLevel;
}

/** One job for a pool thread. */
export type PipelineTask =
  | {
      kind: "run";
      op: OpName;
      options: OpOptionsMap[OpName];
      input: Uint8Array;
      job: JobRef | undefined;
      /** Receives progress fractions. */
      progress: MessagePort;
      /** Int32 cell set to 1 by the pool when the job is canceled; read between tiles. */
      cancel: Int32Array;
    }
  | {
      kind: "warm-up";
      ops: OpName[];
      /** Int32 cell counting warm-up tasks that started: each waits for all, so each lands on its own thread. */
      barrier: Int32Array;
      threads: number;
    };

export type PipelineTaskResult = { ok: true; result: PipelineResult } | { ok: false; error: SerializedError };

const BARRIER_TIMEOUT_MS = 10_000;
// How often a thread whose loop is free (decoding, encoding) looks at the cancel cell.
const CANCEL_POLL_MS = 50;

const data = Piscina.workerData as PipelineThreadData;

// A large job leaves hundreds of megabytes of tensors and pixel buffers to the next collection;
// collected as soon as it ends, they do not pile onto the next job's (under the hostile image set
// the peak fell from 1.59 to 1.28 GB when it was added; 1.45 GB without it and 1.36 GB with it,
// above 128 MB only, in a later run). A 1 MP job leaves 10–90 MB, and a forced full collection
// after it made the next job slower, with or without a pause between them (decode 7 → 15 ms, enhance
// 190 → 270 ms, comic 310 → 400 ms): those are left to V8. `gc` is only exposed by a flag, which a
// worker thread cannot be given.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;
const COLLECT_ABOVE_EXTERNAL_BYTES = 128 * 1024 * 1024;

function collectLargeGarbage(): void {
  if (getHeapStatistics().external_memory > COLLECT_ABOVE_EXTERNAL_BYTES) setTimeout(collectGarbage, 0);
}
configureSharp({ concurrency: data.sharpConcurrency, cacheMb: 0 });
const log = createLogger({ service: "imagen-worker", level: data.logLevel }).child({ component: "pipeline-thread" });
const pipelines: Pipelines = createPipelines({
  registry: createModelRegistry({ manifest: data.manifest, modelDir: data.modelDir }),
  sessions: createSessionCache({ ...data.sessions, log }),
  limits: data.limits,
  ...(data.tiles && { tiles: data.tiles }),
  ...(data.maxTileMs !== undefined && { maxTileMs: data.maxTileMs }),
});

/** Runs a task on this thread's own sessions; errors come back as data, since thrown ones lose their class. */
export default async function runTask(task: PipelineTask): Promise<unknown> {
  try {
    if (task.kind === "warm-up") {
      Atomics.add(task.barrier, 0, 1);
      Atomics.notify(task.barrier, 0);
      waitForAll(task.barrier, task.threads);
      await pipelines.warmUp(task.ops);
      return { ok: true };
    }
    const result = await runJob(task).finally(collectLargeGarbage);
    // The encoded image moves to the pool's thread instead of being copied.
    const value: PipelineTaskResult = { ok: true, result };
    return move({ [transferableSymbol]: [result.data.buffer], [valueSymbol]: value });
  } catch (err) {
    return { ok: false, error: serializeError(err) } satisfies PipelineTaskResult;
  }
}

async function runJob(task: Extract<PipelineTask, { kind: "run" }>): Promise<PipelineResult> {
  const abort = new AbortController();
  const checkCancel = (): void => {
    if (Atomics.load(task.cancel, 0) === 1 && !abort.signal.aborted) abort.abort(new Error("job canceled"));
  };
  const poll = setInterval(checkCancel, CANCEL_POLL_MS);
  try {
    const input = Buffer.from(task.input.buffer, task.input.byteOffset, task.input.byteLength);
    const result = await pipelines.run(task.op, input, task.options, {
      job: task.job,
      log,
      signal: abort.signal,
      onProgress: (fraction) => {
        task.progress.postMessage(fraction);
        checkCancel();
      },
    });
    return { ...result, data: ownedBuffer(result.data) };
  } finally {
    clearInterval(poll);
    task.progress.close();
  }
}

/** Blocks until `threads` warm-up tasks have started (or a timeout: a thread that died must not hang the rest). */
function waitForAll(barrier: Int32Array, threads: number): void {
  const deadline = Date.now() + BARRIER_TIMEOUT_MS;
  for (let seen = Atomics.load(barrier, 0); seen < threads; seen = Atomics.load(barrier, 0)) {
    const left = deadline - Date.now();
    if (left <= 0) return;
    Atomics.wait(barrier, 0, seen, left);
  }
}

/** `buf` when it alone fills a transferable ArrayBuffer, else a copy that does (Buffers may share a pool). */
function ownedBuffer(buf: Buffer): Buffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer) return buf;
  const copy = Buffer.from(new ArrayBuffer(buf.byteLength));
  buf.copy(copy);
  return copy;
}
