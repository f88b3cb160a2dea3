import { describe, expect, it } from "vitest";
import type { JobExpected } from "./job-store.js";
import { matchesExpected } from "./job-store.js";

describe("matchesExpected", () => {
  const running2 = { status: "running", attempts: 2 } as const;

  it.each<[string, JobExpected, boolean]>([
    ["its status", "running", true],
    ["another status", "queued", false],
    ["a list holding its status", ["queued", "running"], true],
    ["its status and attempt", { status: "running", attempts: 2 }, true],
    ["its status under another attempt", { status: "running", attempts: 1 }, false],
    ["its status under a newer attempt bound", { status: "running", attemptsBelow: 3 }, true],
    ["its status under its own attempt bound", { status: "running", attemptsBelow: 2 }, false],
    ["a claim by a newer attempt", ["queued", { status: "running", attemptsBelow: 3 }], true],
    ["a claim by the same attempt", ["queued", { status: "running", attemptsBelow: 2 }], false],
  ])("matches a running job of attempt 2 against %s: %s", (_, expected, matches) => {
    expect(matchesExpected(running2, expected)).toBe(matches);
  });
});
