import sharp from "sharp";

/**
 * Process-wide sharp settings, for the apps to call once at bootstrap (nothing here runs at import).
 * `cacheMb` 0 turns libvips' operation cache off.
 */
export function configureSharp(options: { concurrency: number; cacheMb: number }): void {
  sharp.concurrency(options.concurrency);
  sharp.cache(options.cacheMb > 0 ? { memory: options.cacheMb } : false);
}
