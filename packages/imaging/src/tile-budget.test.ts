import { describe, expect, it } from "vitest";
import { createTileBudget } from "./tile-budget.js";

const W512 = { width: 512, height: 512 };

/** Records the runs in order; the first of each window shape is not learnt from. */
function recordAll(budget: ReturnType<typeof createTileBudget>, session: object, runs: [number, number, number][]) {
  for (const [width, height, ms] of runs) budget.record(session, { width, height }, ms);
}

describe("createTileBudget", () => {
  it("sets no bound until a run of the session has been timed", () => {
    expect(createTileBudget(1_500).maxWindowPixels({})).toBeUndefined();
  });

  it("bounds a session's windows to the pixels its learnt speed runs within the budget", () => {
    const budget = createTileBudget(1_500);
    const session = {};
    recordAll(budget, session, [
      [512, 512, 3_000],
      [512, 512, 3_000],
    ]);
    expect(budget.maxWindowPixels(session)).toBe((512 * 512) / 2);
    expect(budget.maxWindowPixels({})).toBeUndefined();
  });

  it("learns nothing from the first run of a window shape, which may carry one-off work", () => {
    const budget = createTileBudget(1_500);
    const session = {};
    // A GPU's first run of a shape may search for algorithms for seconds; the next takes milliseconds.
    budget.record(session, W512, 5_000);
    expect(budget.maxWindowPixels(session)).toBeUndefined();
    budget.record(session, W512, 300);
    expect(budget.maxWindowPixels(session)).toBe(Math.floor(1_500 / (300 / (512 * 512))));
  });

  it("takes a short run only when it is faster than learnt: its fixed cost would overstate large tiles", () => {
    const budget = createTileBudget(1_500);
    const session = {};
    // 100 ms for a 64² window is mostly fixed cost; scaled up it would predict 6 s for 512².
    recordAll(budget, session, [
      [64, 64, 100],
      [64, 64, 100],
    ]);
    expect(budget.maxWindowPixels(session)).toBeUndefined();
    recordAll(budget, session, [
      [512, 512, 3_000],
      [512, 512, 3_000],
    ]);
    const slow = budget.maxWindowPixels(session)!;
    budget.record(session, { width: 64, height: 64 }, 100);
    expect(budget.maxWindowPixels(session)).toBe(slow);
    // Cut tiles that then run fast (a machine that got quieter) loosen the bound again.
    recordAll(budget, session, [
      [256, 256, 20],
      [256, 256, 20],
      [256, 256, 20],
      [256, 256, 20],
    ]);
    expect(budget.maxWindowPixels(session)).toBeGreaterThan(512 * 512);
  });

  it("refuses a budget that is not positive", () => {
    expect(() => createTileBudget(0)).toThrow(RangeError);
  });
});
