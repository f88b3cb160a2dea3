import { createHash } from "node:crypto";
import { isFinished, toJobView, type Job, type JobStore } from "@imagen/core";

/**
 * Follows jobs by reading the job store: both backends, any API instance, no extra service. On GCP
 * each poll is one Firestore document read, so an open watch costs `1000 / pollIntervalMs` reads a
 * second; the caps on open watches (`watch-slots.ts`) bound that.
 */
export interface JobWatcher {
  /**
   * Each new version of the job after `from` (see `jobVersion`), read every `pollIntervalMs`, until
   * `signal` aborts, the watcher closes, or the job is gone. Errors of the store are thrown.
   */
  changes(from: Job, signal: AbortSignal): AsyncGenerator<Job, void, undefined>;
  /** `job` once it has ended; its latest version when `timeoutMs` passes, `signal` aborts or the watcher closes first. */
  untilFinished(job: Job, options: { timeoutMs: number; signal: AbortSignal }): Promise<Job>;
  /** Ends every watch (their loops return) and resolves once all have stopped; later watches end at once. */
  close(): Promise<void>;
}

/**
 * What a client has seen of a job: its `updatedAt` in ms plus a digest of its view, so that two
 * writes in the same millisecond are still two versions.
 */
export function jobVersion(job: Job): string {
  const digest = createHash("sha256")
    .update(JSON.stringify(toJobView(job)))
    .digest("base64url")
    .slice(0, 8);
  return `${Date.parse(job.updatedAt)}.${digest}`;
}

/** The most often a watch re-reads on the store's hints (the polls come on top). */
export const HINT_EVERY_MS = 50;

/**
 * A watcher polling `jobs`, and re-reading at once when the store hints at a change (`onChange`:
 * the local store's commits); `close()` it when the server closes, or its watches hold the server open.
 */
export function createJobWatcher(jobs: JobStore, options: { pollIntervalMs: number }): JobWatcher {
  const active = new Map<AbortController, Promise<void>>();
  let closed = false;
  // Counts the store's change hints; a watch that read before the latest one reads again at once,
  // also when the hint came while it was reading rather than waiting. A hint is passed on at once
  // after a quiet spell, else at most every HINT_EVERY_MS: every commit of a busy store must not
  // become a read per open watch.
  let hints = 0;
  const waiting = new Set<() => void>();
  let lastWakeMs = -Infinity;
  let nextWake: NodeJS.Timeout | undefined;
  const wakeAll = () => {
    nextWake = undefined;
    lastWakeMs = performance.now();
    hints++;
    for (const wake of [...waiting]) wake();
  };
  const stopHints = jobs.onChange?.(() => {
    if (nextWake || closed) return;
    const wait = lastWakeMs + HINT_EVERY_MS - performance.now();
    if (wait <= 0) wakeAll();
    else nextWake = setTimeout(wakeAll, wait);
  });

  /** Waits `ms` or until a hint newer than `seen`; false when `signal` aborted first (or already had). */
  function pause(ms: number, seen: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (hints !== seen) return Promise.resolve(true);
    return new Promise((resolve) => {
      const end = (goOn: boolean) => {
        clearTimeout(timer);
        waiting.delete(wake);
        signal.removeEventListener("abort", abort);
        resolve(goOn);
      };
      const wake = () => end(true);
      const abort = () => end(false);
      const timer = setTimeout(wake, ms);
      waiting.add(wake);
      signal.addEventListener("abort", abort, { once: true });
    });
  }

  async function* changes(from: Job, signal: AbortSignal): AsyncGenerator<Job, void, undefined> {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    let stopped!: () => void;
    active.set(stop, new Promise<void>((resolve) => (stopped = resolve)));
    if (closed || signal.aborted) stop.abort();
    try {
      let seen = jobVersion(from);
      let readAt = hints;
      while (await pause(options.pollIntervalMs, readAt, stop.signal)) {
        readAt = hints;
        const job = await jobs.get(from.id);
        if (job === null) return;
        const version = jobVersion(job);
        if (version === seen) continue;
        seen = version;
        yield job;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      active.delete(stop);
      stopped();
    }
  }

  return {
    changes,
    async untilFinished(job, { timeoutMs, signal }) {
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      const timer = setTimeout(onAbort, timeoutMs);
      let latest = job;
      try {
        if (isFinished(job.status)) return job;
        for await (const current of changes(job, stop.signal)) {
          latest = current;
          if (isFinished(current.status)) break;
        }
        return latest;
      } finally {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      }
    },
    async close() {
      closed = true;
      stopHints?.();
      clearTimeout(nextWake);
      const stopping = [...active.entries()];
      for (const [stop] of stopping) stop.abort();
      await Promise.all(stopping.map(([, done]) => done));
    },
  };
}
