import { isAppError } from "@imagen/core";
import { describe, expect, it } from "vitest";
import { assertOptionsShape, jsonNestingExceeds, OPTIONS_MAX_BYTES, OPTIONS_MAX_DEPTH } from "./options-guard.js";

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

function refusal(raw: string): unknown {
  try {
    assertOptionsShape(raw);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("jsonNestingExceeds", () => {
  it("counts objects and arrays, and ignores brackets inside strings, escaped quotes included", () => {
    expect(jsonNestingExceeds('{"a":[{"b":1}]}', 3)).toBe(false);
    expect(jsonNestingExceeds('{"a":[{"b":1}]}', 2)).toBe(true);
    expect(jsonNestingExceeds(`{"a":"${"[".repeat(50)}"}`, 1)).toBe(false);
    expect(jsonNestingExceeds(`{"a":"x\\"[[[[","b":1}`, 1)).toBe(false);
  });

  it("stops at the first level too deep, however long the text", () => {
    expect(jsonNestingExceeds(nested(1_000_000), 16)).toBe(true);
  });
});

describe("assertOptionsShape", () => {
  it("accepts options up to the depth and size limits", () => {
    expect(() => assertOptionsShape(nested(OPTIONS_MAX_DEPTH))).not.toThrow();
    expect(() => assertOptionsShape(`{"a":"${"x".repeat(OPTIONS_MAX_BYTES - 8)}"}`)).not.toThrow();
  });

  it("refuses options nested deeper than the limit with INVALID_OPTIONS", () => {
    const err = refusal(nested(OPTIONS_MAX_DEPTH + 1));
    expect(isAppError(err) && [err.code, err.httpStatus]).toEqual(["INVALID_OPTIONS", 400]);
  });

  it("refuses options larger than the limit with INVALID_OPTIONS, counting bytes, not characters", () => {
    const err = refusal(`{"a":"${"é".repeat(OPTIONS_MAX_BYTES / 2)}"}`);
    expect(isAppError(err) && err.code).toBe("INVALID_OPTIONS");
    expect((err as Error).message).toMatch(/at most 4096 bytes/);
  });
});
