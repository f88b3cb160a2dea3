import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import { AppError, type Logger } from "@imagen/core";
import type { ModelEntry } from "@imagen/catalogue";

/** A catalogue entry with its open session. */
export interface LoadedModel {
  entry: ModelEntry;
  session: ort.InferenceSession;
}

/** Where and how sessions run. */
export interface SessionCacheOptions {
  executionProvider: "cpu" | "cuda";
  /** GPU ordinal for `cuda`. Default 0. */
  deviceId?: number;
  /** Threads per session for CPU kernels; ORT's default (all cores) when absent. */
  intraOpNumThreads?: number;
  log?: Logger;
}

/** One inference session per model file, created on first use and reused. */
export interface SessionCache {
  /** The session for `modelPath`; concurrent callers share one creation. */
  get(modelPath: string): Promise<ort.InferenceSession>;
  /** Releases every session; the cache is empty afterwards. */
  close(): Promise<void>;
}

/**
 * Creates the session cache. A `cuda` provider that cannot be loaded is an error naming the
 * provider, never a silent CPU fallback: a GPU worker on CPU would be orders of magnitude slower.
 */
export function createSessionCache(options: SessionCacheOptions): SessionCache {
  const sessions = new Map<string, Promise<ort.InferenceSession>>();
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders:
      options.executionProvider === "cuda" ? [{ name: "cuda", deviceId: options.deviceId ?? 0 }] : ["cpu"],
    graphOptimizationLevel: "all",
    // The CPU arena keeps each session's largest allocation for good (1.1 GB after one 2048² tile
    // of the low-light model): a worker that has run every op then idles at gigabytes.
    enableCpuMemArena: false,
    // ONNX Runtime's intra-op threads spin for a while after each parallel step by default, taking
    // the cores the API, libvips and the other threads of the service need. Off, measured on 2
    // shared cores at 1 MP through npm start (two runs each): comic's job 348–350 ms against
    // 414–527, its inference 270 ms against 331–436; background removal 867–995 against
    // 1,067–1,152; enhance 228 against 325; a ×4 upscale unchanged (18.4 against 19.1 s).
    extra: { session: { intra_op: { allow_spinning: "0" } } },
    ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
  };

  const create = async (modelPath: string): Promise<ort.InferenceSession> => {
    const started = performance.now();
    try {
      const session = await ort.InferenceSession.create(modelPath, sessionOptions);
      const loadMs = Math.round(performance.now() - started);
      options.log?.info({ modelPath, executionProvider: options.executionProvider, loadMs }, "model session loaded");
      return session;
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw new AppError(
        "MODEL_UNAVAILABLE",
        `Could not create an ONNX session for ${modelPath} with execution provider ${options.executionProvider}: ${detail}`,
        { cause },
      );
    }
  };

  return {
    get(modelPath) {
      let pending = sessions.get(modelPath);
      if (!pending) {
        pending = create(modelPath);
        // Forget failures so a later call (e.g. after the file is fixed) tries again.
        pending.catch(() => sessions.delete(modelPath));
        sessions.set(modelPath, pending);
      }
      return pending;
    },
    async close() {
      const all = [...sessions.values()];
      sessions.clear();
      const settled = await Promise.allSettled(all);
      const open = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
      await Promise.all(open.map((session) => session.release()));
    },
  };
}
