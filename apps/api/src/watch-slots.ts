/** Limits on open job watches (event streams and `Prefer: wait` requests) of one API instance. */
export interface WatchLimits {
  /** Open watches of one instance, all clients together. */
  maxOpen: number;
  /** Open watches of one API key (one client address without keys). */
  maxOpenPerKey: number;
}

export type SlotResult = { release: () => void } | { refused: "key" | "instance" };

/**
 * Counts open watches per bucket (see `clientBucket`). Each one polls the job store and holds a
 * connection, so one client cannot take every slot of an instance, and an instance cannot be made
 * to read its store without bound.
 */
export function createWatchSlots(limits: WatchLimits) {
  const open = new Map<string, number>();
  let total = 0;
  return {
    /** A slot for `bucket`, or which limit is reached; `release` is idempotent. */
    acquire(bucket: string): SlotResult {
      const held = open.get(bucket) ?? 0;
      if (held >= limits.maxOpenPerKey) return { refused: "key" };
      if (total >= limits.maxOpen) return { refused: "instance" };
      open.set(bucket, held + 1);
      total += 1;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          total -= 1;
          const left = (open.get(bucket) ?? 1) - 1;
          if (left === 0) open.delete(bucket);
          else open.set(bucket, left);
        },
      };
    },
  };
}

export type WatchSlots = ReturnType<typeof createWatchSlots>;
