import { describe, expect, it } from "vitest";
import type { JobExpected } from "./job-store.js";
import { matchesExpected, webhookDueMs } from "./job-store.js";

describe("matchesExpected", () => {
  const running2: Parameters<typeof matchesExpected>[0] = {
    status: "running",
    attempts: 2,
    runId: "run-b",
    webhook: { url: "https://example.com/hook", state: "pending", attempts: [], nextAttemptAt: null },
  };

  it.each<[string, JobExpected, boolean]>([
    ["its status", "running", true],
    ["another status", "queued", false],
    ["a list holding its status", ["queued", "running"], true],
    ["its status and attempt", { status: "running", attempts: 2 }, true],
    ["its status under another attempt", { status: "running", attempts: 1 }, false],
    ["its status, attempt and run", { status: "running", attempts: 2, runId: "run-b" }, true],
    ["its status and attempt under another run", { status: "running", attempts: 2, runId: "run-a" }, false],
    ["its status under a newer attempt bound", { status: "running", attemptsBelow: 3 }, true],
    ["its status under its own attempt bound", { status: "running", attemptsBelow: 2 }, false],
    ["a claim by a newer attempt", ["queued", { status: "running", attemptsBelow: 3 }], true],
    ["a claim by the same attempt", ["queued", { status: "running", attemptsBelow: 2 }], false],
    ["its webhook's attempt count", { status: "running", webhookAttempts: 0 }, true],
    ["another webhook attempt count", { status: "running", webhookAttempts: 1 }, false],
  ])("matches a running job of attempt 2 against %s: %s", (_, expected, matches) => {
    expect(matchesExpected(running2, expected)).toBe(matches);
  });
});

describe("webhookDueMs", () => {
  const webhook = { url: "https://example.com/hook", attempts: [] };
  it.each<[string, Parameters<typeof webhookDueMs>[0], number | null]>([
    ["no webhook", { webhook: null }, null],
    [
      "a pending one with a time",
      { webhook: { ...webhook, state: "pending", nextAttemptAt: "2024-01-01T00:00:00.000Z" } },
      Date.parse("2024-01-01T00:00:00.000Z"),
    ],
    [
      "a pending one without a time (job still running)",
      { webhook: { ...webhook, state: "pending", nextAttemptAt: null } },
      null,
    ],
    [
      "a delivered one",
      { webhook: { ...webhook, state: "delivered", nextAttemptAt: "2024-01-01T00:00:00.000Z" } },
      null,
    ],
  ])("is %s's due time", (_, job, due) => {
    expect(webhookDueMs(job)).toBe(due);
  });
});
