/**
 * Delay before redelivery number `attempt + 1`: `baseMs · 2^(attempt-1)`, capped at `maxMs`, then
 * shortened by up to 10 % at random so that messages that failed together do not return together.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const capped = Math.min(maxMs, baseMs * 2 ** Math.min(exponent, 30));
  return Math.round(capped * (1 - 0.1 * random()));
}
