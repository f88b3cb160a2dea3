import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

/** A burst of commits (a claim, a progress write, a publish) becomes one wake. */
const COMMIT_WAKE_MS = 5;

/**
 * Calls `onCommit` (at most every {@link COMMIT_WAKE_MS}) when the database's WAL file changes, which
 * every commit of any process does: so what another process wrote (a job the API published, for a
 * worker; a job a worker finished, for the API's watchers) is acted on at once instead of at the
 * next poll. A read writes no WAL frame, so waking cannot feed itself. A directory that cannot be
 * watched leaves the polling alone.
 */
export function watchCommits(file: string, onCommit: () => void): () => void {
  const wal = `${basename(file)}-wal`;
  let pending: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
      if (name !== wal || pending) return;
      pending = setTimeout(() => {
        pending = undefined;
        onCommit();
      }, COMMIT_WAKE_MS);
    });
  } catch {
    return () => {};
  }
  watcher.on("error", () => watcher.close());
  return () => {
    clearTimeout(pending);
    watcher.close();
  };
}

/**
 * Listeners of one database's commits, sharing one directory watch. It starts at the first
 * subscription and stays until `close`: watches come and go with every `Prefer: wait` request, and
 * a commit with nobody listening costs one empty loop.
 */
export interface CommitListeners {
  subscribe(listener: () => void): () => void;
  /** Stops the watch and drops every listener. */
  close(): void;
}

export function createCommitListeners(file: string): CommitListeners {
  const listeners = new Set<() => void>();
  let stopWatching: (() => void) | undefined;
  return {
    subscribe(listener) {
      // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
      const entry = () => listener();
      listeners.add(entry);
      stopWatching ??= watchCommits(file, () => {
        for (const l of [...listeners]) l();
      });
      return () => listeners.delete(entry);
    },
    close() {
      listeners.clear();
      stopWatching?.();
    },
  };
}
