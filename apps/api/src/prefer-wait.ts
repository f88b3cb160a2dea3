import { isFinished, type Job, type Logger } from "@imagen/core";
import type { JobWatcher } from "./job-watch.js";
import type { WatchSlots } from "./watch-slots.js";

/** The longest `Prefer: wait=N` honoured; a longer wait is cut to this (and `Preference-Applied` says so). */
export const MAX_WAIT_S = 60;

/** Splits `text` at `separator` outside quoted strings (RFC 9110 quoted-string, with `\` escapes). */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted && ch === "\\") {
      current += ch + (text[i + 1] ?? "");
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === separator && !quoted) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

const PREFERENCE = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*(.*?))?\s*$/;

/**
 * The seconds of a `wait` preference (RFC 7240) in the `Prefer` headers, at most `MAX_WAIT_S`; undefined
 * when there is none. As the RFC asks, only the first `wait` counts, and a malformed one (not a
 * positive integer) is ignored, like any preference the server does not know.
 */
export function readPreferWait(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(",") : header;
  for (const preference of splitOutsideQuotes(text, ",")) {
    const [head = ""] = splitOutsideQuotes(preference, ";");
    const match = PREFERENCE.exec(head);
    if (match?.[1]?.toLowerCase() !== "wait") continue;
    const value = (match[2] ?? "").replace(/^"(.*)"$/, "$1");
    if (!/^\d+$/.test(value) || Number(value) === 0) return undefined;
    return Math.min(Number(value), MAX_WAIT_S);
  }
  return undefined;
}

export interface WaitDeps {
  watcher: JobWatcher;
  slots: WatchSlots;
  log: Pick<Logger, "warn">;
  /** Counts the waits in progress. */
  onStart: () => void;
  onStop: () => void;
}

/**
 * `job` once it has ended, within `waitS` seconds, or its latest version when the time runs out or
 * `signal` aborts (the client left). With no watch slot free for `bucket`, or a failing store, the
 * answer does not wait: the job exists either way, so the client gets it, not an error.
 */
export async function waitAsPreferred(
  job: Job,
  request: { waitS: number; bucket: string; signal: AbortSignal },
  deps: WaitDeps,
): Promise<Job> {
  if (isFinished(job.status)) return job;
  const slot = deps.slots.acquire(request.bucket);
  if ("refused" in slot) return job;
  deps.onStart();
  try {
    return await deps.watcher.untilFinished(job, { timeoutMs: request.waitS * 1000, signal: request.signal });
  } catch (err) {
    deps.log.warn({ err, jobId: job.id }, "prefer wait stopped: the job store failed");
    return job;
  } finally {
    slot.release();
    deps.onStop();
  }
}
