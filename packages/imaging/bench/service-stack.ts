/**
 * The real service for the service section: `node apps/api/dist/main.js` (with or without its
 * embedded worker) and `node apps/worker/dist/main.js` as child processes on loopback, a client for
 * their HTTP API, a /healthz prober and a reader of a process's peak RSS.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { REPO_ROOT, msSince, sleep } from "./bench-inputs.js";

export const API_MAIN = path.join(REPO_ROOT, "apps/api/dist/main.js");
export const WORKER_MAIN = path.join(REPO_ROOT, "apps/worker/dist/main.js");

/** A service process whose stdout is read line by line (its log) and otherwise dropped. */
export interface ServiceProcess {
  name: string;
  url: string;
  child: ChildProcess;
  /** Spawn until /readyz answered 200 (model loading and warm-up included). */
  readyMs: number;
  /** Resolves with the first log line matching `pattern` (lines seen before count too). */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

/** Starts `main` with `env` (on top of `baseEnv`) and waits until `GET <url>/readyz` answers 200. */
export async function startService(
  name: string,
  main: string,
  port: number,
  env: Record<string, string | undefined>,
  execArgv: readonly string[] = [],
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...execArgv, main], {
    cwd: REPO_ROOT,
    // The bench submits and probes far faster than a client would; the API's rate limit would refuse it.
    env: { RATE_LIMIT_PER_MIN: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve(m: RegExpMatchArray): void }[] = [];
  const onLine = (line: string): void => {
    if (lines.length < 2000) lines.push(line);
    for (const w of [...waiters]) {
      const match = w.pattern.exec(line);
      if (match) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(match);
      }
    }
  };
  createInterface({ input: child.stdout }).on("line", onLine);
  const errors: string[] = [];
  createInterface({ input: child.stderr }).on("line", (l) => errors.push(l));
  const exited = once(child, "exit");
  const url = `http://127.0.0.1:${port}`;
  const spawned = performance.now();
  const deadline = spawned + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited at start: ${errors.slice(-10).join("\n")}`);
    if (performance.now() > deadline) throw new Error(`${name} not ready after 180 s`);
    const status = await get(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    await sleep(100);
  }
  return {
    name,
    url,
    child,
    readyMs: msSince(spawned),
    waitForLine(pattern, timeoutMs) {
      const seen = lines.map((l) => pattern.exec(l)).find((m) => m !== null);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no log line ${pattern}`)), timeoutMs);
        waiters.push({
          pattern,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** A GET on loopback with a keep-alive agent (lighter than fetch, so the prober stays cheap). */
export function get(url: string, timeoutMs = 10_000): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** The fields of a job view the bench reads. */
export interface JobView {
  id: string;
  status: string;
  output: { width: number; height: number; bytes: number; url: string } | null;
  error: { code: string; message: string } | null;
  timings: Record<string, number | undefined>;
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
}

/** One job end to end, as a client sees it. */
export interface JobRun {
  job: JobView;
  /** POST until the job was seen `succeeded`. */
  doneMs: number;
  /** The same plus downloading the result. */
  wallMs: number;
  resultBytes: number;
}

/** The longest wait the API honours (apps/api prefer-wait.ts). */
const PREFER_WAIT_S = 60;

/**
 * `POST /v1/jobs` (multipart) with `Prefer: wait=60`, answered when the job ends (the API follows it
 * in the job store, woken by the store's commits); a job still running after that is polled with
 * `GET /v1/jobs/:id` every `pollMs`. Then the result's download.
 */
export async function runJob(
  apiUrl: string,
  op: string,
  options: Record<string, unknown>,
  inputPath: string,
  pollMs = 200,
): Promise<JobRun> {
  const bytes = await readFile(inputPath);
  const started = performance.now();
  let job = await submitJob(apiUrl, op, options, bytes, { prefer: `wait=${PREFER_WAIT_S}` });
  for (;;) {
    if (job.status === "succeeded") break;
    if (job.status === "failed" || job.status === "canceled") {
      throw new Error(`job ${job.id} (${op}) ${job.status}: ${job.error?.code ?? ""} ${job.error?.message ?? ""}`);
    }
    await sleep(pollMs);
    const res = await get(`${apiUrl}/v1/jobs/${job.id}`);
    job = JSON.parse(res.body.toString()) as JobView;
  }
  const doneMs = msSince(started);
  const result = await get(`${apiUrl}${job.output!.url}`, 120_000);
  if (result.status !== 200) throw new Error(`GET ${job.output!.url}: ${result.status}`);
  return { job, doneMs, wallMs: msSince(started), resultBytes: result.body.length };
}

export async function submitJob(
  apiUrl: string,
  op: string,
  options: Record<string, unknown>,
  bytes: Buffer,
  headers: Record<string, string> = {},
): Promise<JobView> {
  const form = new FormData();
  form.append("op", op);
  form.append("options", JSON.stringify(options));
  form.append("file", new Blob([bytes], { type: "image/jpeg" }), "input.jpg");
  const res = await fetch(`${apiUrl}/v1/jobs`, { method: "POST", body: form, headers });
  if (res.status !== 202 && res.status !== 200)
    throw new Error(`POST /v1/jobs (${op}): ${res.status} ${await res.text()}`);
  return (await res.json()) as JobView;
}

/** Latencies of `GET <url>/healthz` started every `everyMs` (not waiting for the last), until stopped. */
export function probeHealth(
  url: string,
  everyMs = 10,
): { stop(): Promise<{ latenciesMs: number[]; failures: number }> } {
  const latenciesMs: number[] = [];
  const pending = new Set<Promise<void>>();
  let failures = 0;
  const timer = setInterval(() => {
    const started = performance.now();
    const p = get(`${url}/healthz`, 5_000).then(
      (r) => {
        if (r.status === 200) latenciesMs.push(msSince(started));
        else failures += 1;
      },
      () => {
        failures += 1;
      },
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      return { latenciesMs, failures };
    },
  };
}

/** VmHWM (peak resident set) of a live process, MiB; null when it cannot be read. */
export async function peakRssMib(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? null : Number(kb) / 1024;
}

/** Child pids of `pid` (Linux /proc). */
export async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
  return text
    .trim()
    .split(/\s+/)
    .filter((s) => s.length > 0)
    .map(Number);
}

/** The embedded worker under an `npm start` API process: the child running the worker's build. */
export async function embeddedWorkerPid(api: ServiceProcess): Promise<number> {
  for (const pid of await childPids(api.child.pid!)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes("worker/dist/main.js")) return pid;
  }
  throw new Error("no embedded worker child found under the API process");
}
