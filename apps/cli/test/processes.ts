import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CLI_MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
export const CLI_BIN = fileURLToPath(new URL("../bin/imagen.js", import.meta.url));
export const API_MAIN = fileURLToPath(new URL("../../api/dist/main.js", import.meta.url));
export const WORKER_MAIN = fileURLToPath(new URL("../../worker/dist/main.js", import.meta.url));

/** Whether `files` are built; `npm test` builds first, so tests on them skip only in a bare `vitest run`. */
export const built = (...files: string[]): boolean => files.every((file) => existsSync(file));

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <entry> ...args` (the built CLI) in `cwd` with `env` on a clean environment; stdout and
 * stderr are pipes, as in a script, so the CLI sees no terminal.
 */
export async function imagen(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; entry?: string } = {},
): Promise<CliRun> {
  const child = spawn(process.execPath, [options.entry ?? CLI_MAIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [status] = (await once(child, "close")) as [number | null];
  return { status, stdout, stderr };
}

export interface Running {
  child: ChildProcess;
  output(): string;
}

/** Starts the built API (`npm start` with `IMAGEN_EMBEDDED_WORKER=true`) and waits for `/readyz`. */
export async function startApi(base: string, env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [API_MAIN], {
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", RATE_LIMIT_PER_MIN: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const running = { child, output: () => output };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`API exited ${child.exitCode}:\n${output}`);
    const status = await fetch(`${base}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return running;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`API not ready after 30 s:\n${output}`);
}

export async function stopApi(running: Running | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null || running.child.signalCode !== null) return;
  const exited = once(running.child, "exit");
  running.child.kill("SIGKILL");
  await exited;
}

// eslint-disable-next-line no-control-regex
export const ANSI_ESCAPE = /\x1b[[\]]/;
