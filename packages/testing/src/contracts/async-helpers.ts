import { expect, vi } from "vitest";

/** Polls `condition` until it holds; fails the test after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what = "condition"): Promise<void> {
  await vi.waitFor(
    () => {
      expect(condition(), `waiting for ${what}`).toBe(true);
    },
    { timeout: timeoutMs, interval: 10 },
  );
}

/**
 * Waits a fixed time. Only for proving that something does NOT happen within a window; to wait for
 * something that should happen, use `waitUntil`.
 */
export function observeFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The rejection of `promise`; fails when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("Expected the call to reject but it resolved");
}
