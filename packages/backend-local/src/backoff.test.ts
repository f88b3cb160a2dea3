import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "./backoff.js";

describe("backoffDelayMs", () => {
  it("doubles from the base on every attempt", () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 4].map((attempt) => backoffDelayMs(attempt, 100, 10_000, noJitter))).toEqual([100, 200, 400, 800]);
  });

  it("never exceeds the cap, even for huge attempt numbers", () => {
    expect(backoffDelayMs(1_000, 100, 5_000, () => 0)).toBe(5_000);
  });

  it("shortens the delay by at most 10 % of jitter", () => {
    expect(backoffDelayMs(1, 1_000, 10_000, () => 0.999)).toBeGreaterThanOrEqual(900);
  });
});
