import { ValidationError } from "@imagen/core";

/** Far above any op's options (a handful of flat fields), far below what costs anything to parse. */
export const OPTIONS_MAX_BYTES = 4096;
export const OPTIONS_MAX_DEPTH = 8;

/**
 * Whether JSON text nests objects and arrays deeper than `maxDepth`, found by one pass over the text
 * (brackets inside strings do not count), so no recursive parser ever sees a hostile nesting.
 * Malformed JSON is left to the parser that follows.
 */
export function jsonNestingExceeds(raw: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/**
 * Refuses an `options` field too large or too deeply nested to parse, with 400 `INVALID_OPTIONS`;
 * checked on the raw text, size first, before `JSON.parse` runs.
 */
export function assertOptionsShape(raw: string): void {
  const bytes = Buffer.byteLength(raw, "utf8");
  if (bytes > OPTIONS_MAX_BYTES) {
    throw new ValidationError(`Expected options of at most ${OPTIONS_MAX_BYTES} bytes but received ${bytes}`, {
      code: "INVALID_OPTIONS",
    });
  }
  if (jsonNestingExceeds(raw, OPTIONS_MAX_DEPTH)) {
    throw new ValidationError(`Expected options nested at most ${OPTIONS_MAX_DEPTH} levels deep`, {
      code: "INVALID_OPTIONS",
    });
  }
}
