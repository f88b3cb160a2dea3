import type { Rect } from "./tensor.js";

/** How to cut an image into model inputs. */
export interface TilingOptions {
  /** Side of a model input window, overlap included; rounded down to `multiple`. */
  tileSize: number;
  /** Context pixels each side of a tile's core that are computed but not kept. */
  overlap: number;
  /** Window sides must be multiples of this (the model's stride); edge padding fills the rest. */
  multiple: number;
}

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
 * `tileSize` that cover it, and the windows are made only as large as that count needs: equal
 * cores plus `overlap` of real context on every side that is not the image border (windows slide
 * inwards at the borders instead of padding, so the model sees the pixels it would see on the
 * whole image). Only an axis shorter than the tile is padded (repeating the edge) up to `multiple`.
 */
export function planTiles(width: number, height: number, options: TilingOptions): TilePlan {
  const tile = Math.floor(options.tileSize / options.multiple) * options.multiple;
  if (tile < options.multiple || options.overlap * 2 >= tile) {
    throw new RangeError(
      `Expected a tile size of at least ${options.multiple} and more than twice the overlap (${options.overlap}) but received ${options.tileSize}`,
    );
  }
  const xs = planAxis(width, tile, options.overlap, options.multiple);
  const ys = planAxis(height, tile, options.overlap, options.multiple);
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

function planAxis(
  size: number,
  tile: number,
  overlap: number,
  multiple: number,
): { windowSize: number; spans: AxisSpan[] } {
  if (size <= tile) {
    return {
      windowSize: Math.ceil(size / multiple) * multiple,
      spans: [{ windowStart: 0, coreStart: 0, coreLength: size }],
    };
  }
  // Edge cores need context on one side only, so they may be `overlap` longer than interior ones.
  const inner = size - 2 * overlap;
  const count = Math.ceil(inner / (tile - 2 * overlap));
  // The smallest window that holds an interior core with its context; `tile` is a multiple, so this stays ≤ tile.
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
