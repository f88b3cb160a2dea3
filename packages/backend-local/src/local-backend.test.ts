import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { newQueuedJob } from "@imagen/core";
import type { Consumer, Delivery } from "@imagen/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeTempDir, type TempDir } from "../test/temp-dir.js";
import { createLocalBackend, type LocalBackend } from "./local-backend.js";

const QUEUE = { leaseMs: 300, pollIntervalMs: 20, maxAttempts: 3, backoffBaseMs: 50, backoffMaxMs: 1_000 };
const CHILD = fileURLToPath(new URL("../test/fixtures/queue-child.mjs", import.meta.url));
const WAIT = { timeout: 10_000, interval: 10 };

/** Starts the child script and resolves once it printed `line`. */
async function startChild(args: string[], line: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`child exited with ${String(code)} before printing ${line}`);
  });
  const printed = (async () => {
    for await (const text of lines) if (text === line) return;
  })();
  await Promise.race([printed, exited]);
  exited.catch(() => {});
  return child;
}

describe("createLocalBackend", () => {
  let dir: TempDir;
  let backends: LocalBackend[];
  let consumers: Consumer[];
  let children: ChildProcess[];
  const open = () => {
    const backend = createLocalBackend({ dataDir: join(dir.path, "data"), queue: QUEUE });
    backends.push(backend);
    return backend;
  };
  beforeEach(async () => {
    dir = await makeTempDir("backend");
    backends = [];
    consumers = [];
    children = [];
  });
  afterEach(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await Promise.all(consumers.map((consumer) => consumer.close()));
    await Promise.all(backends.map((backend) => backend.close()));
    await dir.remove();
  });

  it("keeps jobs, blobs and pending messages across a restart", async () => {
    const before = open();
    const job = newQueuedJob(
      { id: "job-1", op: "enhance", options: {}, input: { width: 1, height: 1, format: "png", bytes: 3 } },
      new Date(),
    );
    await before.jobs.create(job);
    await before.blobs.put("inputs/job-1", Buffer.from("png"), { contentType: "image/png" });
    await before.queue.publish("enhance", { jobId: "job-1" });
    await before.close();

    const after = open();
    expect(await after.jobs.get("job-1")).toEqual(job);
    expect(await after.blobs.head("inputs/job-1")).toEqual({
      key: "inputs/job-1",
      sizeBytes: 3,
      contentType: "image/png",
    });
    const seen: Delivery[] = [];
    consumers.push(after.queue.consume("enhance", async (delivery) => void seen.push(delivery), { concurrency: 1 }));
    await vi.waitFor(() => expect(seen).toEqual([{ jobId: "job-1", attempt: 1 }]), WAIT);
  });

  it("redelivers with attempt 2 a message whose holder, another process, is killed", async () => {
    const backend = open();
    await backend.queue.publish("upscale", { jobId: "job-1" });
    const file = join(dir.path, "data", "imagen.db");
    const child = await startChild(["lease", file, "upscale", String(QUEUE.leaseMs)], "leased job-1");
    children.push(child);
    const seen: Delivery[] = [];
    consumers.push(backend.queue.consume("upscale", async (delivery) => void seen.push(delivery), { concurrency: 1 }));
    // The child renews its lease, so nothing may reach this process while it lives.
    await new Promise((resolve) => setTimeout(resolve, 3 * QUEUE.leaseMs));
    expect(seen).toEqual([]);
    child.kill("SIGKILL");
    await vi.waitFor(() => expect(seen).toEqual([{ jobId: "job-1", attempt: 2 }]), WAIT);
  });

  it("waits for another process's write lock instead of failing", async () => {
    const backend = open();
    await backend.queue.ping();
    const file = join(dir.path, "data", "imagen.db");
    const child = await startChild(["lock", file, "300"], "locked");
    children.push(child);
    await backend.queue.publish("comic", { jobId: "job-1" });
    await backend.jobs.create(
      newQueuedJob(
        { id: "job-1", op: "comic", options: {}, input: { width: 1, height: 1, format: "png", bytes: 1 } },
        new Date(),
      ),
    );
    expect(await backend.jobs.get("job-1")).toMatchObject({ status: "queued" });
  });
});
