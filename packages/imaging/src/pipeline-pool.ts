import { performance } from "node:perf_hooks";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { Piscina } from "piscina";
import { LOG_LEVELS, type Logger, type LogLevel } from "@imagen/core";
import type { TileOverrides } from "./image-to-image.js";
import { chooseModels, modelsOf } from "@imagen/catalogue";
import type { ModelManifest, ModelRegistry } from "@imagen/catalogue";
import type { PipelineTask, PipelineTaskResult, PipelineThreadData } from "./pipeline-thread.js";
import {
  SUPPORTED_OPS,
  type PipelineContext,
  type PipelineLimits,
  type PipelineResult,
  type Pipelines,
} from "./pipelines.js";
import type { SessionCacheOptions } from "./sessions.js";
import { deserializeError } from "./thread-errors.js";

/** How many jobs run at once and how many cores each may use. */
export interface ThreadBudget {
  /** Pool threads: jobs whose pipelines run at once; more wait in the pool's queue. */
  threads: number;
  /** ONNX Runtime intra-op threads (and libvips threads) per job; threads × this ≤ the cores allowed. */
  intraOpThreads: number;
}

export interface PipelinePoolOptions {
  /** Resolves (and, with a model source, downloads) each job's models before the job reaches a thread. */
  registry: ModelRegistry;
  /** The same catalogue and directory, for the threads' own registries (which never download). */
  manifest: ModelManifest;
  modelDir: string;
  executionProvider: SessionCacheOptions["executionProvider"];
  deviceId?: number;
  budget: ThreadBudget;
  limits: PipelineLimits;
  tiles?: TileOverrides;
  /** Cut tiles so that one model run takes at most this long, and a cancel stops within it; unset: no budget. */
  maxTileMs?: number;
  /**
   * A thread idle this long exits, and its sessions' memory goes back to the system; the next job
   * starts a thread and loads its models again. Unset: threads stay for good.
   */
  idleThreadMs?: number;
  log?: Logger;
}

export interface PipelinePool extends Pipelines {
  /** Stops the threads once their running jobs have ended. */
  close(): Promise<void>;
}

/**
 * Pipelines that run in a pool of worker threads (piscina), each thread with its own ONNX sessions,
 * so `session.run` (synchronous on its thread) never blocks the caller's event loop: leases,
 * progress writes, cancels and health probes keep running. The encoded input is copied to the
 * thread, the encoded result moved back; tensors never leave the thread. A canceled job rejects at
 * once with the signal's reason, and its thread stops at its next tile.
 */
export function createPipelinePool(options: PipelinePoolOptions): PipelinePool {
  const { registry, budget } = options;
  const workerData: PipelineThreadData = {
    manifest: options.manifest,
    modelDir: options.modelDir,
    sessions: {
      executionProvider: options.executionProvider,
      ...(options.deviceId !== undefined && { deviceId: options.deviceId }),
      intraOpNumThreads: budget.intraOpThreads,
    },
    limits: options.limits,
    ...(options.tiles && { tiles: options.tiles }),
    ...(options.maxTileMs !== undefined && { maxTileMs: options.maxTileMs }),
    sharpConcurrency: budget.intraOpThreads,
    logLevel: logLevelOf(options.log),
  };
  const pool = new Piscina<PipelineTask, PipelineTaskResult>({
    filename: threadFile(),
    minThreads: options.idleThreadMs === undefined ? budget.threads : 0,
    maxThreads: budget.threads,
    idleTimeout: options.idleThreadMs ?? Number.POSITIVE_INFINITY,
    execArgv: withoutConditions(process.execArgv),
    workerData,
  });

  return {
    supports: (op) => SUPPORTED_OPS.includes(op),

    async run(op, input, jobOptions, ctx) {
      ctx.signal.throwIfAborted();
      // Missing files are fetched here, once, rather than by every thread that meets them.
      await Promise.all(modelsOf(chooseModels(registry, op, jobOptions)).map((m) => registry.resolve(m.id)));
      const cancel = new Int32Array(new SharedArrayBuffer(4));
      const { port1, port2 } = new MessageChannel();
      const progress = forwardProgress(port1, ctx, cancel);
      const canceled = cancelOnAbort(ctx.signal, cancel);
      const task: PipelineTask = { kind: "run", op, options: jobOptions, input, job: ctx.job, progress: port2, cancel };
      const running = pool.run(task, { transferList: [port2] });
      running.then(
        () => port1.close(),
        (err: unknown) => {
          port1.close();
          if (ctx.signal.aborted) options.log?.debug({ err, op }, "canceled job's thread stopped");
        },
      );
      let outcome: PipelineTaskResult;
      try {
        outcome = await Promise.race([running, canceled.rejection]);
      } finally {
        canceled.dispose();
      }
      await progress.settled();
      const progressError = progress.error();
      if (progressError !== undefined) throw progressError;
      if (!outcome.ok) throw deserializeError(outcome.error);
      return asBuffer(outcome.result);
    },

    async warmUp(ops) {
      // The threads' own warm-up refuses an op this build does not support.
      const defaults = registry.list().filter((m) => m.default && ops.includes(m.op));
      for (const entry of defaults) await registry.resolve(entry.id);
      // One task per thread (each waits at the barrier for the others), so every thread loads its sessions.
      const started = performance.now();
      const barrier = new Int32Array(new SharedArrayBuffer(4));
      const task: PipelineTask = { kind: "warm-up", ops: [...ops], barrier, threads: budget.threads };
      const outcomes = await Promise.all(Array.from({ length: budget.threads }, () => pool.run(task)));
      const failed = outcomes.find((o) => !o.ok);
      if (failed && !failed.ok) throw deserializeError(failed.error);
      const ms = Math.round(performance.now() - started);
      options.log?.info(
        { ops, ...budget, executionProvider: options.executionProvider, ms },
        "pipeline threads warmed up",
      );
    },

    // Waits for running jobs (canceled ones stop at their next tile): destroying a thread mid-run aborts the process.
    close: () => pool.close(),
  };
}

/**
 * Hands the thread's progress fractions to `ctx.onProgress` in order. A progress write that fails
 * ends the attempt, as it would have inline: the error is kept and the thread told to stop.
 */
function forwardProgress(
  port: MessagePort,
  ctx: PipelineContext,
  cancel: Int32Array,
): { settled(): Promise<void>; error(): Error | undefined } {
  let chain: Promise<void> = Promise.resolve();
  let failure: Error | undefined;
  port.on("message", (fraction: number) => {
    if (ctx.signal.aborted) return;
    chain = chain
      .then(() => ctx.onProgress(fraction))
      .catch((err: unknown) => {
        failure ??= asError(err);
        Atomics.store(cancel, 0, 1);
      });
  });
  return { settled: () => chain, error: () => failure };
}

/**
 * On abort, tells the thread to stop at its next tile and rejects `rejection` with the signal's
 * reason at once: ONNX Runtime cannot be interrupted inside a tile, and terminating a thread
 * mid-run aborts the process, so the job settles before its thread does.
 */
function cancelOnAbort(signal: AbortSignal, cancel: Int32Array): { rejection: Promise<never>; dispose(): void } {
  let onAbort = (): void => {};
  const rejection = new Promise<never>((_, reject) => {
    onAbort = () => {
      Atomics.store(cancel, 0, 1);
      reject(asError(signal.reason));
    };
  });
  signal.addEventListener("abort", onAbort, { once: true });
  return { rejection, dispose: () => signal.removeEventListener("abort", onAbort) };
}

function logLevelOf(log: Logger | undefined): LogLevel {
  const level = log?.level;
  return LOG_LEVELS.find((l) => l === level) ?? "silent";
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** The result with its data as a Buffer again (structured cloning delivers a plain Uint8Array). */
function asBuffer(result: PipelineResult): PipelineResult {
  const { data } = result;
  return { ...result, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * The process's flags minus `--conditions`: threads run the compiled build, and a source condition
 * (the test runner's) would send their package imports to TypeScript files.
 */
function withoutConditions(argv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--conditions" || arg === "-C") i += 1;
    else if (!arg.startsWith("--conditions=")) kept.push(arg);
  }
  return kept;
}

/** The compiled thread module; from the sources (tests), the build next to them, which `test` depends on. */
function threadFile(): string {
  const here = import.meta.url;
  return new URL(here.endsWith(".ts") ? "../dist/pipeline-thread.js" : "./pipeline-thread.js", here).href;
}
