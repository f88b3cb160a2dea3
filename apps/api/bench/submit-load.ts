/**
 * `npm run bench:submit -w @imagen/api`: how fast `POST /v1/jobs` takes a photo, against a bare
 * Fastify + @fastify/multipart route that only receives the same upload (the floor of any API on
 * this stack). Both servers run in child processes (submit-server.ts) so that autocannon, here in
 * the parent, never shares an event loop with the server it measures; on a 2-core machine the load
 * generator and the server then get a core each. After a warm-up, the two are measured in turns
 * (API, bare, API, bare, ...) so that drift of the machine hits both alike; the table gives the
 * median and min–max of each, and the ratio of the medians. Writes bench-results/submit-<date>.json.
 *
 * Options: --rounds 3 --duration 5 (s per run) --warmup 3 (s) --connections 32;
 * --profile writes a V8 CPU profile of the API process (node --cpu-prof) to bench-results/ and
 * prints its top functions by self time.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import sharp from "sharp";
import { formatTopSelfTime, summariseProfile, type CpuProfile } from "./cpu-profile.js";
import type { ServerReady } from "./submit-server.js";

// This file runs from bench/dist/bench/; the repo root is five levels up.
const REPO_ROOT = fileURLToPath(new URL("../../../../../", import.meta.url));
const SERVER = fileURLToPath(new URL("./submit-server.js", import.meta.url));
const PHOTO = path.join(REPO_ROOT, "packages/imaging/test/images/coffee-600x400.png");
/** q97 makes the 600×400 coffee photo a ~128 KB JPEG, the size of a phone photo's preview. */
const JPEG_QUALITY = 97;

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    profile: { type: "boolean", default: false },
  },
});
const ROUNDS = positiveInt(args.rounds, "--rounds");
const DURATION_S = positiveInt(args.duration, "--duration");
const WARMUP_S = positiveInt(args.warmup, "--warmup");
const CONNECTIONS = positiveInt(args.connections, "--connections");

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`Expected ${name} to be a positive integer but received ${value}`);
  return n;
}

interface Server {
  name: "api" | "bare";
  url: string;
  child: ChildProcess;
}

async function startServer(name: Server["name"], argv: string[], execArgv: string[] = []): Promise<Server> {
  // stdout (the API's request log) goes to /dev/null: written, as in production, but not read here.
  const child = fork(SERVER, [name, ...argv], { execArgv, stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const ready = await new Promise<ServerReady>((resolve, reject) => {
    child.once("message", (message) => resolve(message as ServerReady));
    child.once("exit", (code) => reject(new Error(`The ${name} server exited with ${code} before listening`)));
  });
  return { name, url: `http://127.0.0.1:${ready.port}/v1/jobs`, child };
}

/** The server's CPU time so far (all its threads), in ms. */
async function cpuMs(server: Server): Promise<number> {
  const usage = new Promise<NodeJS.CpuUsage>((resolve) =>
    server.child.once("message", (message) => resolve(message as NodeJS.CpuUsage)),
  );
  server.child.send("cpu");
  const { user, system } = await usage;
  return (user + system) / 1000;
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise<void>((resolve) => server.child.once("exit", () => resolve()));
  server.child.send("stop");
  await exited;
}

/** A multipart body as a browser sends it: op, options, then the file. */
function multipartBody(file: Buffer): { body: Buffer; contentType: string } {
  const boundary = `----imagen-bench-${randomUUID()}`;
  const field = (name: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head =
    field("op", "upscale") +
    field("options", JSON.stringify({ scale: 2 })) +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="coffee.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  return {
    body: Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

interface Run {
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time of the server process (all threads) per request, in ms. */
  cpuMsPerRequest: number;
  requests: number;
  non2xx: number;
  errors: number;
}

async function load(server: Server, upload: { body: Buffer; contentType: string }, durationS: number): Promise<Run> {
  const cpuBefore = await cpuMs(server);
  const result = await autocannon({
    url: server.url,
    method: "POST",
    headers: { "content-type": upload.contentType },
    body: upload.body,
    connections: CONNECTIONS,
    duration: durationS,
  });
  const requests = result["2xx"] + result.non2xx;
  const run = {
    reqPerS: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuMsPerRequest: ((await cpuMs(server)) - cpuBefore) / requests,
    requests,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
  if (run.non2xx > 0 || run.errors > 0) {
    throw new Error(
      `Expected only 202s from ${server.name} but received ${run.non2xx} non-2xx and ${run.errors} errors`,
    );
  }
  return run;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function spread(xs: number[], digits = 0): string {
  const f = (x: number) => x.toFixed(digits);
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), "imagen-submit-bench-"));
  const resultsDir = path.join(REPO_ROOT, "bench-results");
  const servers: Server[] = [];
  try {
    const { data: jpeg, info: photo } = await sharp(await readFile(PHOTO))
      .jpeg({ quality: JPEG_QUALITY })
      .toBuffer({ resolveWithObject: true });
    const upload = multipartBody(jpeg);
    const profileDir = path.join(resultsDir, `submit-profile-${Date.now()}`);
    const execArgv = args.profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
    const api = await startServer("api", [path.join(work, "data"), path.join(REPO_ROOT, "models")], execArgv);
    servers.push(api);
    const bare = await startServer("bare", []);
    servers.push(bare);

    process.stderr.write(
      `upload: ${photo.width}x${photo.height} JPEG q${JPEG_QUALITY}, ${jpeg.length} bytes; ` +
        `${CONNECTIONS} connections, warm-up ${WARMUP_S} s each, then ${ROUNDS} × (API ${DURATION_S} s, bare ${DURATION_S} s)\n`,
    );
    await load(api, upload, WARMUP_S);
    await load(bare, upload, WARMUP_S);
    const runs: Record<Server["name"], Run[]> = { api: [], bare: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const server of [api, bare]) {
        const run = await load(server, upload, DURATION_S);
        runs[server.name].push(run);
        process.stderr.write(
          `round ${round} ${server.name}: ${run.reqPerS.toFixed(0)} req/s, p99 ${run.p99Ms} ms, ` +
            `${run.cpuMsPerRequest.toFixed(2)} CPU ms/request (${run.requests} requests)\n`,
        );
      }
    }
    for (const server of servers.splice(0)) await stopServer(server);

    const rps = (name: Server["name"]) => runs[name].map((r) => r.reqPerS);
    const p99 = (name: Server["name"]) => runs[name].map((r) => r.p99Ms);
    const cpu = (name: Server["name"]) => runs[name].map((r) => r.cpuMsPerRequest);
    const ratio = median(rps("api")) / median(rps("bare"));
    const table = [
      `| POST /v1/jobs, ${(jpeg.length / 1024).toFixed(0)} KB JPEG, c=${CONNECTIONS} | req/s | p99 ms | server CPU ms/request |`,
      "| --- | --- | --- | --- |",
      `| API (local backend) | ${spread(rps("api"))} | ${spread(p99("api"))} | ${spread(cpu("api"), 2)} |`,
      `| bare Fastify + multipart | ${spread(rps("bare"))} | ${spread(p99("bare"))} | ${spread(cpu("bare"), 2)} |`,
      `| API ÷ bare | ${ratio.toFixed(2)} | | |`,
      "",
      `median (min–max) of ${ROUNDS} runs of ${DURATION_S} s each, interleaved`,
    ].join("\n");
    process.stdout.write(`\n${table}\n\n`);

    await mkdir(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `submit-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg(), node: process.version };
    const settings = { connections: CONNECTIONS, rounds: ROUNDS, durationS: DURATION_S, warmupS: WARMUP_S };
    await writeFile(file, JSON.stringify({ machine, settings, uploadBytes: jpeg.length, runs, ratio }, null, 2));
    process.stderr.write(`wrote ${path.relative(REPO_ROOT, file)}\n`);

    if (args.profile) {
      const [profile] = (await readdir(profileDir)).filter((f) => f.endsWith(".cpuprofile"));
      if (!profile) throw new Error(`Expected a .cpuprofile in ${profileDir}`);
      const summary = summariseProfile(
        JSON.parse(await readFile(path.join(profileDir, profile), "utf8")) as CpuProfile,
      );
      process.stdout.write(`API CPU profile (${path.relative(REPO_ROOT, path.join(profileDir, profile))}):\n`);
      process.stdout.write(`${formatTopSelfTime(summary, 30)}\n`);
    }
  } finally {
    await Promise.allSettled(servers.map(stopServer));
    await rm(work, { recursive: true, force: true });
  }
}

await main();
