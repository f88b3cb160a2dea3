import type { Rect } from "./tensor.js";

/** How to cut an image into model inputs. */
export interface TilingOptions {
  /** Side of a model input window, overlap included; rounded down to `multiple`. */
  tileSize: number;
  /** Context pixels each side of a tile's core that are computed but not kept. */
  overlap: number;
  /** Window sides must be multiples of this (the model's stride); edge padding fills the rest. */
  multiple: number;
  /**
   * At most this many pixels per window (a time budget per model run): the image is then cut into
   * more tiles, as few window pixels in all as fit, but no core shorter than {@link MIN_CORE}.
   */
  maxWindowPixels?: number | undefined;
}

/** The shortest core side {@link TilingOptions.maxWindowPixels} cuts to: below it the overlaps would cost more than the core. */
export const MIN_CORE = 64;

/** One tile: the input `window` (may reach past the image when padded) and the `core` it owns. */
export interface Tile {
  window: Rect;
  core: Rect;
}

/** Every window has the same size, so one tensor buffer serves all tiles. */
export interface TilePlan {
  windowWidth: number;
  windowHeight: number;
  tiles: Tile[];
}

interface AxisSpan {
  windowStart: number;
  coreStart: number;
  coreLength: number;
}

/**
 * Plans tiles whose cores partition the image. Each axis gets the fewest windows of at most
 * `tileSize` that cover it (more when `maxWindowPixels` asks), and the windows are made only as
 * large as that count needs: equal cores plus `overlap` of real context on every side that is not
 * the image border (windows slide inwards at the borders instead of padding, so the model sees the
 * pixels it would see on the whole image). Only an axis shorter than its window is padded (repeating
 * the edge) up to `multiple`.
 */
export function planTiles(width: number, height: number, options: TilingOptions): TilePlan {
  const tile = Math.floor(options.tileSize / options.multiple) * options.multiple;
  if (tile < options.multiple || options.overlap * 2 >= tile) {
    throw new RangeError(
      `Expected a tile size of at least ${options.multiple} and more than twice the overlap (${options.overlap}) but received ${options.tileSize}`,
    );
  }
  const { overlap, multiple } = options;
  let xs = planAxis(width, minimumCount(width, tile, overlap), overlap, multiple);
  let ys = planAxis(height, minimumCount(height, tile, overlap), overlap, multiple);
  const max = options.maxWindowPixels;
  if (max !== undefined && xs.windowSize * ys.windowSize > max)
    [xs, ys] = withinPixels(width, height, xs, ys, options, max);
  const tiles: Tile[] = [];
  for (const y of ys.spans) {
    for (const x of xs.spans) {
      tiles.push({
        window: { x: x.windowStart, y: y.windowStart, width: xs.windowSize, height: ys.windowSize },
        core: { x: x.coreStart, y: y.coreStart, width: x.coreLength, height: y.coreLength },
      });
    }
  }
  return { windowWidth: xs.windowSize, windowHeight: ys.windowSize, tiles };
}

interface AxisPlan {
  windowSize: number;
  spans: AxisSpan[];
}

/** The fewest windows of at most `tile` that cover `size` with their context. */
function minimumCount(size: number, tile: number, overlap: number): number {
  return size <= tile ? 1 : Math.ceil((size - 2 * overlap) / (tile - 2 * overlap));
}

/**
 * Of the tile counts whose windows hold at most `max` pixels, the one with the fewest window pixels
 * in all (ties: fewer tiles); the smallest windows allowed when none does.
 */
function withinPixels(
  width: number,
  height: number,
  xs: AxisPlan,
  ys: AxisPlan,
  options: TilingOptions,
  max: number,
): [AxisPlan, AxisPlan] {
  const { overlap, multiple } = options;
  const xPlans = cutPlans(width, xs, overlap, multiple);
  const yPlans = cutPlans(height, ys, overlap, multiple);
  let best: [AxisPlan, AxisPlan] = [xPlans.at(-1)!, yPlans.at(-1)!];
  let bestPixels = Number.POSITIVE_INFINITY;
  let bestTiles = Number.POSITIVE_INFINITY;
  for (const x of xPlans) {
    const y = yPlans.find((plan) => x.windowSize * plan.windowSize <= max);
    if (!y) continue;
    const tiles = x.spans.length * y.spans.length;
    const pixels = tiles * x.windowSize * y.windowSize;
    if (pixels < bestPixels || (pixels === bestPixels && tiles < bestTiles)) {
      [best, bestPixels, bestTiles] = [[x, y], pixels, tiles];
    }
  }
  return best;
}

/** The axis cut into `from`'s count of windows and every larger count down to cores of {@link MIN_CORE}. */
function cutPlans(size: number, from: AxisPlan, overlap: number, multiple: number): AxisPlan[] {
  const plans = [from];
  for (let count = from.spans.length + 1; Math.floor((size - 2 * overlap) / count) >= MIN_CORE; count++) {
    const plan = planAxis(size, count, overlap, multiple);
    // Rounding up to the multiple may make a window longer than the axis; more windows are shorter.
    if (plan.windowSize <= size) plans.push(plan);
  }
  return plans;
}

function planAxis(size: number, count: number, overlap: number, multiple: number): AxisPlan {
  if (count === 1) {
    return {
      windowSize: Math.ceil(size / multiple) * multiple,
      spans: [{ windowStart: 0, coreStart: 0, coreLength: size }],
    };
  }
  // Edge cores need context on one side only, so they may be `overlap` longer than interior ones.
  const inner = size - 2 * overlap;
  // The smallest window that holds an interior core with its context; for the fewest count that
  // fits `tile` (a multiple), this stays ≤ tile.
  const windowSize = Math.ceil((Math.ceil(inner / count) + 2 * overlap) / multiple) * multiple;
  const bounds = Array.from({ length: count + 1 }, (_, i) =>
    i === 0 ? 0 : i === count ? size : overlap + Math.round((i * inner) / count),
  );
  const spans: AxisSpan[] = [];
  for (let i = 0; i < count; i++) {
    const coreStart = bounds[i]!;
    const windowStart = Math.min(Math.max(coreStart - overlap, 0), size - windowSize);
    spans.push({ windowStart, coreStart, coreLength: bounds[i + 1]! - coreStart });
  }
  return { windowSize, spans };
}
