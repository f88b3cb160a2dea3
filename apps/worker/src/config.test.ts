import { readEnvExample } from "@imagen/testing/stack";
import { describe, expect, it } from "vitest";
import { loadWorkerConfig } from "./config.js";

describe("loadWorkerConfig", () => {
  it("runs every op on the local backend with safe defaults", () => {
    const config = loadWorkerConfig({});
    expect(config.ops).toEqual(["upscale", "enhance", "comic", "background-removal"]);
    expect(config.backend.kind).toBe("local");
    expect(config.concurrency).toBe(1);
    expect(config.models.executionProvider).toBe("cpu");
    expect(config.limits.maxInputPixels).toBe(40_000_000);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("lets idle pipeline threads go after 30 s by default, never with 0, and limits decoding", () => {
    expect(loadWorkerConfig({}).threadIdleMs).toBe(30_000);
    expect(loadWorkerConfig({ WORKER_THREAD_IDLE_MS: "0" }).threadIdleMs).toBe(0);
    expect(() => loadWorkerConfig({ WORKER_THREAD_IDLE_MS: "-1" })).toThrow(/WORKER_THREAD_IDLE_MS/);
    expect(loadWorkerConfig({}).limits).toMatchObject({ maxHeifPixels: 24_000_000, decodeTimeoutS: 30 });
    expect(() => loadWorkerConfig({ DECODE_TIMEOUT_S: "0" })).toThrow(/DECODE_TIMEOUT_S/);
  });

  it("reads WORKER_MAX_TILE_MS: 2000 by default, 0 (off) allowed, a negative value refused", () => {
    expect(loadWorkerConfig({}).maxTileMs).toBe(2_000);
    expect(loadWorkerConfig({ WORKER_MAX_TILE_MS: "0" }).maxTileMs).toBe(0);
    expect(() => loadWorkerConfig({ WORKER_MAX_TILE_MS: "-5" })).toThrow(/WORKER_MAX_TILE_MS/);
  });

  it("reads the ops of a single-op deployment", () => {
    expect(loadWorkerConfig({ IMAGEN_WORKER_OPS: "upscale" }).ops).toEqual(["upscale"]);
  });

  it("names every bad variable", () => {
    let message = "";
    try {
      loadWorkerConfig({
        IMAGEN_WORKER_OPS: "upscale,sharpen",
        WORKER_CONCURRENCY: "0",
        IMAGEN_EXECUTION_PROVIDER: "tpu",
        IMAGEN_BACKEND: "redis",
      });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of ["IMAGEN_WORKER_OPS", "WORKER_CONCURRENCY", "IMAGEN_EXECUTION_PROVIDER", "IMAGEN_BACKEND"]) {
      expect(message).toContain(`${name}:`);
    }
  });
});

describe("thread budget", () => {
  it("splits the cores between the jobs that run at once", () => {
    expect(loadWorkerConfig({ WORKER_CPU_THREADS: "8" }).threads).toEqual({ threads: 1, intraOpThreads: 8 });
    expect(loadWorkerConfig({ WORKER_CPU_THREADS: "8", WORKER_CONCURRENCY: "2" }).threads).toEqual({
      threads: 2,
      intraOpThreads: 4,
    });
    // Never more pool threads than cores: the extra jobs wait for a thread.
    expect(loadWorkerConfig({ WORKER_CPU_THREADS: "2", WORKER_CONCURRENCY: "4" }).threads).toEqual({
      threads: 2,
      intraOpThreads: 1,
    });
  });

  it("takes explicit sizes within the budget and names the variables of one that exceeds it", () => {
    expect(
      loadWorkerConfig({ WORKER_CPU_THREADS: "6", WORKER_POOL_SIZE: "3", WORKER_INTRA_OP_THREADS: "2" }).threads,
    ).toEqual({ threads: 3, intraOpThreads: 2 });
    expect(() =>
      loadWorkerConfig({ WORKER_CPU_THREADS: "4", WORKER_POOL_SIZE: "2", WORKER_INTRA_OP_THREADS: "3" }),
    ).toThrow(/WORKER_POOL_SIZE × WORKER_INTRA_OP_THREADS: expected at most WORKER_CPU_THREADS \(4\)/);
  });
});

describe("IMAGEN_MODEL_SOURCE", () => {
  it("reads an https base or a gs:// bucket, and names the variable when it is neither", () => {
    expect(loadWorkerConfig({ IMAGEN_MODEL_SOURCE: "gs://models/v1" }).modelSource).toEqual({
      kind: "gcs",
      bucket: "models",
      prefix: "v1",
    });
    expect(loadWorkerConfig({}).modelSource).toBeUndefined();
    expect(() => loadWorkerConfig({ IMAGEN_MODEL_SOURCE: "ftp://x" })).toThrow(/IMAGEN_MODEL_SOURCE/);
  });
});

describe("webhook settings", () => {
  const secret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;

  it("sends no webhooks without a secret, and only to public addresses by default", () => {
    expect(loadWorkerConfig({}).webhooks).toEqual({
      secret: undefined,
      allowPrivate: false,
      timeoutMs: 10_000,
      maxResponseBytes: 65_536,
      pollIntervalMs: 5_000,
    });
  });

  it("reads the secret and the delivery settings, and never prints the secret", () => {
    const { webhooks } = loadWorkerConfig({
      IMAGEN_WEBHOOK_SECRET: secret,
      IMAGEN_WEBHOOK_ALLOW_PRIVATE: "true",
      WEBHOOK_TIMEOUT_MS: "2500",
      WEBHOOK_MAX_RESPONSE_BYTES: "1024",
      WEBHOOK_POLL_INTERVAL_MS: "1000",
    });
    expect(webhooks).toMatchObject({
      allowPrivate: true,
      timeoutMs: 2500,
      maxResponseBytes: 1024,
      pollIntervalMs: 1000,
    });
    expect(webhooks.secret?.sign("id", new Date(0), "{}")).toMatch(/^v1,/);
    expect(JSON.stringify(webhooks)).not.toContain(secret.slice(6));
  });

  it("names each bad webhook variable", () => {
    expect(() =>
      loadWorkerConfig({
        IMAGEN_WEBHOOK_SECRET: "hunter2",
        IMAGEN_WEBHOOK_ALLOW_PRIVATE: "yes",
        WEBHOOK_TIMEOUT_MS: "0",
      }),
    ).toThrow(/IMAGEN_WEBHOOK_SECRET: .*whsec_[\s\S]*IMAGEN_WEBHOOK_ALLOW_PRIVATE:[\s\S]*WEBHOOK_TIMEOUT_MS:/);
  });
});

describe(".env.example", () => {
  it("holds values the worker accepts", () => {
    const { env } = readEnvExample();
    expect(loadWorkerConfig(env)).toMatchObject({ concurrency: 1 });
  });
});
