/**
 * A time budget per tile. ONNX Runtime cannot be interrupted inside `session.run`, so a canceled job
 * stops only when its current tile ends: on 2 CPU cores a ×4 upscaler's 504² tile took about 6 s. The
 * budget learns each session's inference time per input pixel from the tiles it runs, and bounds
 * the window pixels so that one tile is expected to take at most `maxTileMs`. Until a session has
 * run a timed tile, and wherever its tiles already fit, the contract's tiles stand.
 */
export interface TileBudget {
  /**
   * The most pixels a window of `session` may hold (`TilingOptions.maxWindowPixels`); undefined
   * while its speed is unknown.
   */
  maxWindowPixels(session: object): number | undefined;
  /** Records that `session.run` took `ms` on a `width`×`height` input window. */
  record(session: object, window: { width: number; height: number }, ms: number): void;
}

/** The worker's `WORKER_MAX_TILE_MS` default: a canceled job should stop within 2 s. */
export const DEFAULT_MAX_TILE_MS = 2_000;

// A run much shorter than the budget says little about large tiles: its fixed cost (tensor set-up,
// thread wake-ups) makes every pixel look dearer than it is. Such a run may only lower the cost.
const MIN_LEARN_SHARE = 1 / 8;
// Weight of the newest run in the learnt cost: follows a change of load within a few tiles.
const NEWEST_WEIGHT = 0.5;

interface SessionSpeed {
  msPerPixel: number | undefined;
  /** Window shapes run before: the first run of a shape may carry one-off work (CUDA's algorithm search, allocation). */
  shapes: Set<string>;
}

export function createTileBudget(maxTileMs: number): TileBudget {
  if (!(maxTileMs > 0)) throw new RangeError(`Expected a tile budget above 0 ms but received ${maxTileMs}`);
  const speeds = new WeakMap<object, SessionSpeed>();
  return {
    maxWindowPixels(session) {
      const cost = speeds.get(session)?.msPerPixel;
      return cost === undefined ? undefined : Math.floor(maxTileMs / cost);
    },
    record(session, window, ms) {
      const pixels = window.width * window.height;
      let speed = speeds.get(session);
      if (!speed) speeds.set(session, (speed = { msPerPixel: undefined, shapes: new Set() }));
      const shape = `${window.width}x${window.height}`;
      if (!speed.shapes.has(shape)) {
        speed.shapes.add(shape);
        return;
      }
      const cost = ms / pixels;
      const learnt = speed.msPerPixel;
      if (ms < maxTileMs * MIN_LEARN_SHARE && (learnt === undefined || cost >= learnt)) return;
      speed.msPerPixel = learnt === undefined ? cost : NEWEST_WEIGHT * cost + (1 - NEWEST_WEIGHT) * learnt;
    },
  };
}
