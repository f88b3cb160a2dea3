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

/** Sessions of graphs built in code (not model files), by a key that names the graph and its parameters. */
export interface GraphSessions {
  /** The session for `key`; `build` gives its ONNX bytes on first use. Concurrent callers share one creation. */
  graph(key: string, build: () => Uint8Array): Promise<ort.InferenceSession>;
}

/** One inference session per model file (and per built graph), created on first use and reused. */
export interface SessionCache extends GraphSessions {
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

  /** A model file by its path, or a built graph by its key and bytes. */
  type Source = { modelPath: string } | { graph: string; bytes: Uint8Array };
  const create = async (source: Source): Promise<ort.InferenceSession> => {
    const started = performance.now();
    const [name, label] =
      "modelPath" in source
        ? [source.modelPath, { modelPath: source.modelPath }]
        : [`the built graph ${source.graph}`, { graph: source.graph }];
    try {
      const session =
        "modelPath" in source
          ? await ort.InferenceSession.create(source.modelPath, sessionOptions)
          : await ort.InferenceSession.create(source.bytes, sessionOptions);
      const loadMs = Math.round(performance.now() - started);
      options.log?.info({ ...label, executionProvider: options.executionProvider, loadMs }, "model session loaded");
      return session;
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw new AppError(
        "MODEL_UNAVAILABLE",
        `Could not create an ONNX session for ${name} with execution provider ${options.executionProvider}: ${detail}`,
        { cause },
      );
    }
  };

  /** `name` keys the cache: a model path, or a graph's key after a NUL, which no path can hold. */
  const cached = (name: string, source: () => Source): Promise<ort.InferenceSession> => {
    let pending = sessions.get(name);
    if (!pending) {
      pending = create(source());
      // Forget failures so a later call (e.g. after the file is fixed) tries again.
      pending.catch(() => sessions.delete(name));
      sessions.set(name, pending);
    }
    return pending;
  };

  return {
    get: (modelPath) => cached(modelPath, () => ({ modelPath })),
    graph: (key, build) => cached(`\0${key}`, () => ({ graph: key, bytes: build() })),
    async close() {
      const all = [...sessions.values()];
      sessions.clear();
      const settled = await Promise.allSettled(all);
      const open = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
      await Promise.all(open.map((session) => session.release()));
    },
  };
}
