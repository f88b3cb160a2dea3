import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createLogger } from "@imagen/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startEmbeddedWorker, type EmbeddedWorker } from "./embedded-worker.js";

const log = createLogger({ service: "api-test", level: "silent" });

/** A stand-in for the worker build: reports a status over IPC, then does what `rest` says. */
function childScript(status: unknown, rest: string): string {
  return `process.send(${JSON.stringify(status)});\n${rest}\n`;
}

describe("startEmbeddedWorker", () => {
  let dir: string;
  let started: EmbeddedWorker[];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "imagen-embedded-"));
    started = [];
  });
  afterEach(async () => {
    await Promise.all(started.map((w) => w.stop(2_000)));
    await rm(dir, { recursive: true, force: true });
  });

  async function start(script: string, env: NodeJS.ProcessEnv = {}): Promise<EmbeddedWorker> {
    const entry = path.join(dir, "worker.mjs");
    await writeFile(entry, script);
    const worker = startEmbeddedWorker({ env, log, entry });
    started.push(worker);
    return worker;
  }

  it("answers from the status its child reports, and stops it", async () => {
    const status = { kind: "imagen-worker-status", problems: [], opProblems: { comic: "no comic here" } };
    const worker = await start(
      childScript(status, "setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0));"),
    );
    expect(worker.problems()).toEqual(["embedded worker: starting"]);
    await vi.waitFor(() => expect(worker.problems()).toEqual([]));
    expect(worker.opProblem("comic")).toBe("no comic here");
    expect(worker.opProblem("upscale")).toBeNull();
    await worker.stop(2_000);
    expect(worker.opProblem("upscale")).toMatch(/exited/);
  });

  it("makes every op unavailable once its child exits on its own", async () => {
    const status = { kind: "imagen-worker-status", problems: [], opProblems: {} };
    const worker = await start(childScript(status, "process.exit(3);"));
    await vi.waitFor(() => expect(worker.opProblem("upscale")).toBe("the embedded worker exited (code 3)"));
    expect(worker.problems()).toEqual(["the embedded worker exited (code 3)"]);
  });

  it("gives its child malloc settings that return freed memory, unless the environment sets them", async () => {
    // The child reports its malloc variables as its problems.
    const script =
      "const names = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'GLIBC_TUNABLES'];\n" +
      "process.send({ kind: 'imagen-worker-status', problems: names.map((n) => `${n}=${process.env[n]}`), opProblems: {} });\n" +
      "setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0));";
    const worker = await start(script, { MALLOC_ARENA_MAX: "4" });
    await vi.waitFor(() => expect(worker.problems()).toHaveLength(4));
    expect(worker.problems()).toEqual([
      "MALLOC_ARENA_MAX=4",
      "MALLOC_MMAP_THRESHOLD_=1048576",
      "MALLOC_TRIM_THRESHOLD_=1048576",
      "GLIBC_TUNABLES=glibc.malloc.hugetlb=1",
    ]);
  });

  it("asks its child for its metrics over IPC, and gets null when the child does not answer in time or has exited", async () => {
    const status = { kind: "imagen-worker-status", problems: [], opProblems: {} };
    const family = { name: "worker_jobs_total", help: "Jobs", type: "counter", aggregator: "sum" };
    // Answers every other request, so that one of two waits out its timeout.
    const answering = childScript(
      status,
      "let n = 0;\n" +
        "process.on('message', (m) => { if (m.kind !== 'imagen-worker-metrics-request' || n++ % 2) return;\n" +
        `  process.send({ kind: 'imagen-worker-metrics', id: m.id, metrics: [{ ...${JSON.stringify(family)}, values: [{ value: m.id, labels: {} }] }] }); });\n` +
        "process.on('SIGTERM', () => process.exit(0));",
    );
    const worker = await start(answering);
    await vi.waitFor(() => expect(worker.problems()).toEqual([]));
    expect(await worker.metrics(5_000)).toEqual([{ ...family, values: [{ value: 0, labels: {} }] }]);
    const started = performance.now();
    expect(await worker.metrics(200)).toBeNull();
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(await worker.metrics(5_000)).toEqual([{ ...family, values: [{ value: 2, labels: {} }] }]);
    await worker.stop(2_000);
    expect(await worker.metrics(5_000)).toBeNull();
  });

  it("passes on that its child could not collect its metrics as null", async () => {
    const status = { kind: "imagen-worker-status", problems: [], opProblems: {} };
    const failing = childScript(
      status,
      "process.on('message', (m) => process.send({ kind: 'imagen-worker-metrics', id: m.id, error: 'collect failed' }));\n" +
        "process.on('SIGTERM', () => process.exit(0));",
    );
    const worker = await start(failing);
    await vi.waitFor(() => expect(worker.problems()).toEqual([]));
    const started = performance.now();
    expect(await worker.metrics(10_000)).toBeNull();
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("refuses to start without the worker build, naming the file", () => {
    expect(() => startEmbeddedWorker({ env: {}, log, entry: path.join(dir, "missing.js") })).toThrow(
      /IMAGEN_EMBEDDED_WORKER=true needs the worker build at .*missing\.js/,
    );
  });
});
