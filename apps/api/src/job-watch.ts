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

/** A watch's hints for its job: counted, and passed on at most every {@link HINT_EVERY_MS}. */
interface Hints {
  /** Hints passed on so far. */
  readonly count: number;
  /** Waits `ms` or until a hint newer than `seen`; false when `signal` aborted first (or already had). */
  pause(ms: number, seen: number, signal: AbortSignal): Promise<boolean>;
  stop(): void;
}

/**
 * Follows the store's hints for job `id`. A hint is passed on at once after a quiet spell, else at
 * most every HINT_EVERY_MS: every commit of a busy local store (each is a hint for every job) must
 * not become a read per open watch. The count lets a watch that read before the latest hint read
 * again at once, also when the hint came while it was reading rather than waiting.
 */
function followHints(jobs: JobStore, id: string): Hints {
  let count = 0;
  let wake: (() => void) | undefined;
  let lastPassedMs = -Infinity;
  let next: NodeJS.Timeout | undefined;
  const pass = () => {
    next = undefined;
    lastPassedMs = performance.now();
    count++;
    wake?.();
  };
  const unsubscribe = jobs.onChange?.(id, () => {
    if (next) return;
    const wait = lastPassedMs + HINT_EVERY_MS - performance.now();
    if (wait <= 0) pass();
    else next = setTimeout(pass, wait);
  });
  return {
    get count() {
      return count;
    },
    pause(ms, seen, signal) {
      if (signal.aborted) return Promise.resolve(false);
      if (count !== seen) return Promise.resolve(true);
      return new Promise((resolve) => {
        const end = (goOn: boolean) => {
          clearTimeout(timer);
          wake = undefined;
          signal.removeEventListener("abort", abort);
          resolve(goOn);
        };
        const abort = () => end(false);
        const timer = setTimeout(() => end(true), ms);
        wake = () => end(true);
        signal.addEventListener("abort", abort, { once: true });
      });
    },
    stop() {
      unsubscribe?.();
      clearTimeout(next);
    },
  };
}

/**
 * A watcher polling `jobs`, and re-reading at once when the store hints at a change of the job
 * (`onChange`: the local store's commits, a Firestore document listener); `close()` it when the
 * server closes, or its watches hold the server open.
 */
export function createJobWatcher(jobs: JobStore, options: { pollIntervalMs: number }): JobWatcher {
  const active = new Map<AbortController, Promise<void>>();
  let closed = false;

  async function* changes(from: Job, signal: AbortSignal): AsyncGenerator<Job, void, undefined> {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    let stopped!: () => void;
    active.set(stop, new Promise<void>((resolve) => (stopped = resolve)));
    if (closed || signal.aborted) stop.abort();
    const hints = followHints(jobs, from.id);
    try {
      let seen = jobVersion(from);
      let readAt = hints.count;
      while (await hints.pause(options.pollIntervalMs, readAt, stop.signal)) {
        readAt = hints.count;
        const job = await jobs.get(from.id);
        if (job === null) return;
        const version = jobVersion(job);
        if (version === seen) continue;
        seen = version;
        yield job;
      }
    } finally {
      hints.stop();
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
      const stopping = [...active.entries()];
      for (const [stop] of stopping) stop.abort();
      await Promise.all(stopping.map(([, done]) => done));
    },
  };
}
