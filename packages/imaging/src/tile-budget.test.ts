import { describe, expect, it } from "vitest";
import { createTileBudget } from "./tile-budget.js";

describe("createTileBudget", () => {
  it("sets no bound until a run of the session has been timed", () => {
    expect(createTileBudget(1_500).maxWindowPixels({}, 16)).toBeUndefined();
  });

  it("bounds a session's windows to the pixels its learnt speed runs within the budget", () => {
    const budget = createTileBudget(1_500);
    const session = {};
    budget.record(session, 512 * 512, 3_000);
    expect(budget.maxWindowPixels(session, 16)).toBe((512 * 512) / 2);
    expect(budget.maxWindowPixels({}, 16)).toBeUndefined();
  });

  it("learns nothing from runs too short to tell, and never bounds a model without overlap", () => {
    const budget = createTileBudget(1_500);
    const session = {};
    // 100 ms for a 64² window is mostly fixed cost; scaled up it would predict 6 s for 512².
    budget.record(session, 64 * 64, 100);
    expect(budget.maxWindowPixels(session, 16)).toBeUndefined();
    budget.record(session, 512 * 512, 3_000);
    expect(budget.maxWindowPixels(session, 0)).toBeUndefined();
  });

  it("follows a change of speed within a few runs", () => {
    const budget = createTileBudget(1_000);
    const session = {};
    budget.record(session, 512 * 512, 4_000);
    expect(budget.maxWindowPixels(session, 16)).toBe(65_536);
    for (let i = 0; i < 4; i++) budget.record(session, 256 * 256, 150);
    expect(budget.maxWindowPixels(session, 16)).toBeGreaterThan(512 * 512);
  });

  it("refuses a budget that is not positive", () => {
    expect(() => createTileBudget(0)).toThrow(RangeError);
  });
});
