/**
 * A time budget per tile. ONNX Runtime cannot be interrupted inside `session.run`, so a canceled job
 * stops only when its current tile ends: on a CPU a ×4 upscaler's 512 px tile takes about 3 s. The
 * budget learns each session's inference time per input pixel from the tiles it runs, and bounds
 * the window pixels so that one tile is expected to take at most `maxTileMs`. Until a session has
 * run a timed tile, and wherever its tiles already fit (a GPU), the contract's tiles stand.
 */
export interface TileBudget {
  readonly maxTileMs: number;
  /**
   * The most pixels a window of `session` may hold (`TilingOptions.maxWindowPixels`); undefined
   * while its speed is unknown, and for a model without tile overlap, whose tiles would show more
   * seams if cut further.
   */
  maxWindowPixels(session: object, overlap: number): number | undefined;
  /** Records that `session.run` took `ms` on a window of `pixels` input pixels. */
  record(session: object, pixels: number, ms: number): void;
}

// A run much shorter than the budget says little about large tiles: its fixed cost (tensor set-up,
// thread wake-ups) makes every pixel look dearer than it is. Only runs of at least this share of the
// budget are learnt from.
const MIN_LEARN_SHARE = 1 / 8;
// Weight of the newest run in the learnt cost: follows a change of load within a few tiles.
const NEWEST_WEIGHT = 0.5;

export function createTileBudget(maxTileMs: number): TileBudget {
  if (!(maxTileMs > 0)) throw new RangeError(`Expected a tile budget above 0 ms but received ${maxTileMs}`);
  const msPerPixel = new WeakMap<object, number>();
  return {
    maxTileMs,
    maxWindowPixels(session, overlap) {
      const cost = msPerPixel.get(session);
      return cost === undefined || overlap === 0 ? undefined : Math.floor(maxTileMs / cost);
    },
    record(session, pixels, ms) {
      if (ms < maxTileMs * MIN_LEARN_SHARE || pixels <= 0) return;
      const cost = ms / pixels;
      const learnt = msPerPixel.get(session);
      msPerPixel.set(session, learnt === undefined ? cost : NEWEST_WEIGHT * cost + (1 - NEWEST_WEIGHT) * learnt);
    },
  };
}
