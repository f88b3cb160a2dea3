import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export const API_MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
export const WORKER_MAIN = fileURLToPath(new URL("../../worker/dist/main.js", import.meta.url));

export { freePort } from "@imagen/testing/stack";

export interface Running {
  child: ChildProcess;
  /** Everything the process wrote, for failure messages. */
  output(): string;
}

/** The repo root, where `npm start` runs: relative defaults (`./models`) resolve from there. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Starts `node <main>` with `env` on top of a clean environment, in `cwd` (default: this process's);
 * its output is captured. The API's rate limit is off unless `env` sets it: tests poll jobs far
 * faster than any client would (the limit itself is tested in app.test.ts).
 */
export function startProcess(main: string, env: Record<string, string>, cwd?: string): Running {
  const child = spawn(process.execPath, [main], {
    cwd,
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? "warn",
      RATE_LIMIT_PER_MIN: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** Polls `url` until it answers 200, or fails with the process's output. */
export async function waitUntilReady(url: string, proc: Running, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`process exited ${proc.child.exitCode}:\n${proc.output()}`);
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms:\n${proc.output()}`);
}

/** Prints what each process wrote when the test failed (or always when E2E_LOG_LEVEL is set). */
export function reportOutput(failed: boolean, processes: Running[]): void {
  if (!failed && !process.env.E2E_LOG_LEVEL) return;
  for (const proc of processes) console.error(`--- output of pid ${proc.child.pid}:\n${proc.output()}`);
}

export async function stopProcess(proc: Running, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.child.exitCode;
  const exited = once(proc.child, "exit");
  proc.child.kill(signal);
  const [code] = (await exited) as [number | null];
  return code;
}
