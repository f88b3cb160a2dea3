import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { getPriority } from "node:os";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { probeImage } from "@imagen/catalogue";
import { patternImage } from "@imagen/testing/images";
import { writeTestModels } from "@imagen/testing/stack";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EMBEDDED_WORKER_NICE } from "../src/embedded-worker.js";
import { jobClient } from "./job-client.js";
import {
  API_MAIN,
  freePort,
  reportOutput,
  startProcess,
  stopProcess,
  waitUntilReady,
  WORKER_MAIN,
  type Running,
} from "./processes.js";

const built = existsSync(API_MAIN) && existsSync(WORKER_MAIN);

// These tests run the built apps as separate processes, exactly as `npm start`, `npm run start:api`
// and `npm run start:worker` do; `npm test` builds first, so they are skipped only in a bare
// `vitest run` before any build.
describe.runIf(built)("processes", () => {
  let dir: string;
  let env: Record<string, string>;
  let base: string;
  let client: ReturnType<typeof jobClient>;
  const running: Running[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "imagen-e2e-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    client = jobClient(base);
    env = {
      PORT: String(port),
      HOST: "127.0.0.1",
      IMAGEN_DATA_DIR: path.join(dir, "data"),
      QUEUE_POLL_INTERVAL_MS: "50",
      WORKER_PROGRESS_INTERVAL_MS: "0",
      IMAGEN_WORKER_OPS: "upscale",
    };
  });
  afterEach(async ({ task }) => {
    reportOutput(task.result?.state === "fail", running);
    for (const proc of running.splice(0)) await stopProcess(proc, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  function start(main: string, extra: Record<string, string> = {}): Running {
    const proc = startProcess(main, { ...env, ...extra });
    running.push(proc);
    return proc;
  }

  it("npm start: API with an embedded worker takes a job from upload to result, then stops on SIGTERM", async () => {
    const models = await writeTestModels(dir);
    const api = start(API_MAIN, {
      IMAGEN_EMBEDDED_WORKER: "true",
      IMAGEN_MODEL_DIR: models.modelDir,
      IMAGEN_MODEL_MANIFEST: models.manifestPath,
    });
    await waitUntilReady(`${base}/readyz`, api);

    const submitted = await client.submit(await patternImage({ width: 90, height: 60, format: "jpeg" }));
    expect(submitted.status).toBe("queued");
    const done = await client.waitFor(submitted.id, (j) => j.status === "succeeded");
    expect(done.output).toMatchObject({ width: 360, height: 240 });

    const result = await fetch(`${base}${done.output?.url}`);
    expect(result.status).toBe(200);
    expect(result.headers.get("content-type")).toBe("image/jpeg");
    const image = await probeImage(Buffer.from(await result.arrayBuffer()), { maxInputPixels: 1e7 });
    expect(image).toMatchObject({ format: "jpeg", width: 360, height: 240 });

    // One scrape shows the worker's jobs beside the API's requests.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain("api_embedded_worker_up 1\n");
    expect(metrics).toContain('worker_jobs_total{op="upscale",outcome="succeeded",component="embedded-worker"} 1\n');
    expect(metrics).toMatch(/^process_cpu_seconds_total\{component="embedded-worker"\} /m);

    expect(await stopProcess(api, "SIGTERM")).toBe(0);
  });

  it("npm start: the API answers at once while its worker runs a model for seconds, and refuses an op the worker does not run", async () => {
    // A 31×31×192 convolution: seconds per job on the CPU, in the worker's own process.
    const models = await writeTestModels(dir, { slowUpscale: { channels: 192, kernel: 31 } });
    const api = start(API_MAIN, {
      IMAGEN_EMBEDDED_WORKER: "true",
      IMAGEN_MODEL_DIR: models.modelDir,
      IMAGEN_MODEL_MANIFEST: models.manifestPath,
    });
    await waitUntilReady(`${base}/readyz`, api);
    // The worker is the API's child, running at a lower priority than the API.
    const children = (await readFile(`/proc/${api.child.pid}/task/${api.child.pid}/children`, "utf8")).trim();
    expect(children.split(" ").map((pid) => getPriority(Number(pid)))).toEqual([EMBEDDED_WORKER_NICE]);
    const submitted = await client.submit(await patternImage({ width: 400, height: 300 }));
    await client.waitFor(submitted.id, (j) => j.status === "running");
    const runningSince = performance.now();
    let slowest = 0;
    let probes = 0;
    while ((await client.job(submitted.id)).status === "running") {
      const started = performance.now();
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      slowest = Math.max(slowest, performance.now() - started);
      probes += 1;
    }
    expect(probes).toBeGreaterThan(10);
    // The model runs as one tile for seconds: a blocked loop would hold a probe for most of it. A
    // shared machine may hold one for a few hundred milliseconds anyway.
    expect(slowest).toBeLessThan(Math.max(250, (performance.now() - runningSince) / 4));
    expect((await client.job(submitted.id)).status).toBe("succeeded");

    const form = new FormData();
    form.set("op", "comic");
    form.set("file", new Blob([await patternImage({ width: 16, height: 16 })]), "photo.png");
    const refused = await fetch(`${base}/v1/jobs`, { method: "POST", body: form });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "OP_UNAVAILABLE",
      message: expect.stringContaining("does not run comic") as string,
    });
    expect(await stopProcess(api, "SIGTERM")).toBe(0);
  });

  it("a worker SIGKILLed mid-job: the job is redelivered after its lease and succeeds once, attempts 2", async () => {
    const models = await writeTestModels(dir, { slowUpscale: true });
    const modelEnv = { IMAGEN_MODEL_DIR: models.modelDir, IMAGEN_MODEL_MANIFEST: models.manifestPath };
    const api = start(API_MAIN, modelEnv);
    await waitUntilReady(`${base}/readyz`, api);
    const workerEnv = { ...modelEnv, QUEUE_LEASE_MS: "1500", WORKER_HOST: "127.0.0.1" };
    const firstPort = String(await freePort());
    const first = start(WORKER_MAIN, { ...workerEnv, WORKER_PORT: firstPort });
    await waitUntilReady(`http://127.0.0.1:${firstPort}/readyz`, first);

    const submitted = await client.submit(await patternImage({ width: 512, height: 512 }));
    const midway = await client.waitFor(submitted.id, (j) => j.status === "running" && j.progress > 0);
    expect(midway.progress).toBeLessThan(1);
    await stopProcess(first, "SIGKILL");

    const secondPort = String(await freePort());
    const second = start(WORKER_MAIN, { ...workerEnv, WORKER_PORT: secondPort });
    await waitUntilReady(`http://127.0.0.1:${secondPort}/readyz`, second);
    const done = await client.waitFor(submitted.id, (j) => j.status !== "running" && j.status !== "queued", 60_000);
    expect(done).toMatchObject({ status: "succeeded", attempts: 2, error: null });
    expect(done.output).toMatchObject({ width: 2048, height: 2048 });
    // One output, the second attempt's (outputs/<job>/<attempt>-<run id>.<format>): the killed run wrote none.
    expect(await readdir(path.join(dir, "data", "blobs", "outputs"))).toEqual([submitted.id]);
    const outputs = await readdir(path.join(dir, "data", "blobs", "outputs", submitted.id));
    expect(outputs).toEqual([expect.stringMatching(/^2-[0-9a-z]{10}\.png$/)]);
    // Node prints process warnings (deprecations included) as "(node:<pid>) …" on stderr.
    for (const proc of [api, first, second]) expect(proc.output()).not.toMatch(/^\(node:\d+\)/m);
  });
});
