import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";

export interface EmulatorProcess {
  name: string;
  pid: number;
  /** Where its stdout and stderr go; the tail is quoted when it fails to start. */
  logFile: string;
  /** Terminates the whole process group (gcloud starts Java as a child) and waits for the leader. */
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/**
 * Starts `command` as the leader of a new process group, so that `stop` reaches the JVMs that
 * gcloud forks too, then waits until `readyUrl` answers 200. Fails with the log's tail when the
 * process exits or `timeoutMs` passes first.
 */
export async function startEmulator(spec: {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  logFile: string;
  readyUrl: string;
  timeoutMs: number;
  /** What the reader should check when it does not start. */
  hint: string;
}): Promise<EmulatorProcess> {
  const log = createWriteStream(spec.logFile);
  await new Promise((resolve) => log.once("open", resolve));
  const child = spawn(spec.command, spec.args, { detached: true, env: spec.env, stdio: ["ignore", log, log] });
  const exited = new Promise<string>((resolve) => {
    child.once("error", (err) => resolve(`could not be run: ${err.message}`));
    child.once("exit", (code, signal) => resolve(`exited early (code ${code}, signal ${signal})`));
  });
  // If the test runner itself dies, take the emulator down with it rather than leave it running.
  const onExit = () => child.pid !== undefined && killGroup(child.pid, "SIGKILL");
  process.once("exit", onExit);
  const stop = async () => {
    process.off("exit", onExit);
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    killGroup(child.pid, "SIGTERM");
    const timer = setTimeout(() => child.pid !== undefined && killGroup(child.pid, "SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    // The leader may exit before its JVM child; make sure nothing of the group outlives the run.
    killGroup(child.pid, "SIGKILL");
    log.end();
  };
  const failure = await Promise.race([exited, waitForHttp(spec.readyUrl, spec.timeoutMs)]);
  if (failure !== null || child.pid === undefined) {
    await stop();
    const tail = (await readFile(spec.logFile, "utf8").catch(() => "")).split("\n").slice(-25).join("\n");
    throw new Error(
      `The ${spec.name} emulator did not start: ${failure ?? "no pid"} (${spec.command} ${spec.args.join(" ")}).\n` +
        `${spec.hint}\nLast lines of ${spec.logFile}:\n${tail}`,
    );
  }
  return { name: spec.name, pid: child.pid, logFile: spec.logFile, stop };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as { code?: unknown }).code !== "ESRCH") throw err;
  }
}

/** `null` once `url` answers 200; a reason when `timeoutMs` passed first. */
async function waitForHttp(url: string, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ok) return null;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return `${url} did not answer 200 within ${timeoutMs} ms`;
}
