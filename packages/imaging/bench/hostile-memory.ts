/**
 * The bounded-memory bench (issue #11 item 8): starts `npm start`'s stack (apps/api/dist/main.js
 * with its embedded worker child, local backend, the repo's models), submits the hostile set
 * (hostile-inputs.ts) over HTTP all at once, samples the RSS of the API and every process under it
 * (VmRSS, threads included) every 100 ms until each job has ended, then idles and samples again.
 * Prints each case's outcome, the peak and the idle RSS.
 *
 *   node bench/dist/hostile-memory.js [--idle-s 45] [--scale 1] [--job-timeout-s 600] [--only a,b] [--env K=V]…
 *
 * `--scale` shrinks the large cases, `--only` keeps the cases whose names start so, and `--env` adds
 * to the stack's environment (for example `--env MALLOC_ARENA_MAX=2`), to compare settings.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { freePort } from "@imagen/testing/stack";
import { REPO_ROOT, markdownTable, sleep } from "./bench-inputs.js";
import { hostileCases, type HostileCase } from "./hostile-inputs.js";
import { API_MAIN, childPids, get, startService } from "./service-stack.js";

interface Args {
  idleS: number;
  scale: number;
  jobTimeoutS: number;
  /** Name prefixes of the cases to run; empty: all. */
  only: string[];
  env: Record<string, string>;
}

interface Outcome {
  name: string;
  op: string;
  bytes: number;
  submitStatus: number;
  /** The refusal's code, or the job's final status and failure code. */
  result: string;
  ms: number;
  matches: boolean;
}

const SAMPLE_MS = 100;

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { idleS: 45, scale: 1, jobTimeoutS: 600, only: [], env: {} };
  for (let i = 0; i < argv.length; i++) {
    const [flag = "", value = ""] = [argv[i], argv[i + 1]];
    switch (flag) {
      case "--idle-s":
        args.idleS = Number(value);
        break;
      case "--scale":
        args.scale = Number(value);
        break;
      case "--job-timeout-s":
        args.jobTimeoutS = Number(value);
        break;
      case "--only":
        args.only = value.split(",");
        break;
      case "--env": {
        const [key = "", ...rest] = value.split("=");
        args.env[key] = rest.join("=");
        break;
      }
      default:
        throw new Error(
          `Unknown argument ${argv[i]}; expected --idle-s, --scale, --job-timeout-s, --only or --env K=V`,
        );
    }
    i += 1;
  }
  return args;
}

/** VmRSS in MiB of `pid` and every process under it, by pid (the API first). */
async function treeRssMib(pid: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const visit = async (p: number): Promise<void> => {
    const status = await readFile(`/proc/${p}/status`, "utf8").catch(() => "");
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    if (kb !== undefined) out.set(p, Number(kb) / 1024);
    for (const child of await childPids(p)) await visit(child);
  };
  await visit(pid);
  return out;
}

const sum = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
const parts = (m: Map<number, number> | readonly number[]): string =>
  [...m.values()].map((v) => v.toFixed(0)).join(" + ");

/** Samples the tree's summed RSS until stopped; keeps the peak sum and each process's peak. */
function sampleRss(pid: number): { stop(): Promise<{ peakMib: number; perProcessPeakMib: number[] }> } {
  let peakMib = 0;
  const perProcess = new Map<number, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const rss = await treeRssMib(pid);
      peakMib = Math.max(peakMib, sum(rss));
      for (const [p, mib] of rss) perProcess.set(p, Math.max(perProcess.get(p) ?? 0, mib));
      await sleep(SAMPLE_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { peakMib, perProcessPeakMib: [...perProcess.values()] };
    },
  };
}

async function submit(apiUrl: string, c: HostileCase): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new FormData();
  form.append("op", c.op);
  form.append("options", JSON.stringify(c.options));
  form.append("file", new Blob([c.bytes]), "upload.bin");
  const res = await fetch(`${apiUrl}/v1/jobs`, { method: "POST", body: form });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

interface JobBody {
  status?: string;
  error?: { code?: string; message?: string } | null;
}

async function waitForJob(apiUrl: string, id: string, timeoutMs: number): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const res = await get(`${apiUrl}/v1/jobs/${id}`).catch(() => null);
    const job = res && (JSON.parse(res.body.toString()) as JobBody);
    if (job?.status === "succeeded") return "succeeded";
    if (job?.status === "failed" || job?.status === "canceled") return `${job.status} ${job.error?.code ?? ""}`.trim();
    if (performance.now() > deadline) return `still ${job?.status ?? "unknown"} after ${timeoutMs / 1000} s (HANG)`;
    await sleep(250);
  }
}

async function runCase(apiUrl: string, c: HostileCase, jobTimeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  const { status, body } = await submit(apiUrl, c);
  const base = { name: c.name, op: c.op, bytes: c.bytes.length, submitStatus: status };
  if (status !== 202) {
    const code = (body["error"] as { code?: string } | undefined)?.code ?? "?";
    const ms = performance.now() - started;
    const refusedAs = c.expect === "job" ? null : c.expect.refused;
    return { ...base, result: `refused ${code}`, ms, matches: status >= 400 && status < 500 && code === refusedAs };
  }
  const result = await waitForJob(apiUrl, String(body["id"]), jobTimeoutMs);
  const ended = result === "succeeded" || result.startsWith("failed ");
  return { ...base, result, ms: performance.now() - started, matches: ended && c.expect === "job" };
}

async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  const dir = await mkdtemp(path.join(tmpdir(), "imagen-hostile-"));
  try {
    console.log(`making the hostile set (scale ${args.scale})`);
    const all = await hostileCases(args.scale);
    const cases = all.filter((c) => args.only.length === 0 || args.only.some((prefix) => c.name.startsWith(prefix)));
    const port = await freePort();
    // eslint-disable-next-line no-restricted-properties -- an entry point, like apps/*/src/main.ts
    const base = process.env;
    const env = {
      ...base,
      IMAGEN_EMBEDDED_WORKER: "true",
      IMAGEN_BACKEND: "local",
      IMAGEN_DATA_DIR: path.join(dir, "data"),
      IMAGEN_MODEL_DIR: base["IMAGEN_MODEL_DIR"] ?? path.join(REPO_ROOT, "models"),
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "warn",
      ...args.env,
    };
    const api = await startService("npm start", API_MAIN, port, env);
    const pid = api.child.pid!;
    try {
      const ready = await treeRssMib(pid);
      console.log(`ready in ${(api.readyMs / 1000).toFixed(1)} s; submitting ${cases.length} uploads`);
      const sampler = sampleRss(pid);
      const started = performance.now();
      const outcomes = await Promise.all(cases.map((c) => runCase(api.url, c, args.jobTimeoutS * 1000)));
      const busyS = (performance.now() - started) / 1000;
      const peak = await sampler.stop();
      console.log(`all ended in ${busyS.toFixed(0)} s; idling ${args.idleS} s`);
      const idleSampler = sampleRss(pid);
      await sleep(args.idleS * 1000);
      const idlePeak = await idleSampler.stop();
      const idle = await treeRssMib(pid);
      const alive = api.child.exitCode === null && (await childPids(pid)).length > 0;
      report(outcomes, {
        ready,
        peakMib: peak.peakMib,
        perProcessPeakMib: peak.perProcessPeakMib,
        idle,
        idleMaxMib: idlePeak.peakMib,
        alive,
        env: args.env,
      });
    } finally {
      await api.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function report(
  outcomes: readonly Outcome[],
  m: {
    ready: Map<number, number>;
    peakMib: number;
    perProcessPeakMib: number[];
    idle: Map<number, number>;
    idleMaxMib: number;
    alive: boolean;
    env: Record<string, string>;
  },
): void {
  console.log(
    markdownTable(
      ["case", "op", "bytes", "submit", "outcome", "s", "ok"],
      outcomes.map((o) => [
        o.name,
        o.op,
        String(o.bytes),
        String(o.submitStatus),
        o.result,
        (o.ms / 1000).toFixed(1),
        o.matches ? "yes" : "NO",
      ]),
    ),
  );
  console.log(`env: ${JSON.stringify(m.env)}`);
  console.log(`RSS ready ${sum(m.ready).toFixed(0)} MiB (API + worker: ${parts(m.ready)})`);
  console.log(
    `RSS peak ${m.peakMib.toFixed(0)} MiB (summed, sampled every ${SAMPLE_MS} ms; each process's own peak: ${parts(m.perProcessPeakMib)})`,
  );
  console.log(
    `RSS idle ${sum(m.idle).toFixed(0)} MiB after the idle wait (${parts(m.idle)}; most during the wait ${m.idleMaxMib.toFixed(0)})`,
  );
  console.log(`stack alive at the end: ${m.alive ? "yes" : "NO"}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
