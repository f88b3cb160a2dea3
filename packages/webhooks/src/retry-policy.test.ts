import { describe, expect, it } from "vitest";
import {
  deliveryOutcome,
  nextWebhookAttemptDelayMs,
  WEBHOOK_MIN_RETRY_SPAN_MS,
  WEBHOOK_RETRY_DELAYS_MS,
  webhookGivesUp,
} from "./retry-policy.js";

const HOUR = 3_600_000;

/** The times of every try, with the dispatcher trying exactly when each one falls due. */
function schedule(random: () => number): number[] {
  const first = Date.parse("2024-01-01T00:00:00Z");
  const times = [first];
  for (;;) {
    const now = times[times.length - 1] ?? first;
    if (webhookGivesUp(times.length, new Date(first), new Date(now))) return times;
    times.push(now + nextWebhookAttemptDelayMs(times.length, random));
  }
}

describe("webhook retry schedule", () => {
  it.each([
    ["the shortest jitter", () => 0],
    ["the longest jitter", () => 0.999],
  ])("retries for at least 24 h with %s, then gives up", (_, random) => {
    const times = schedule(random);
    const span = (times[times.length - 1] ?? 0) - (times[0] ?? 0);
    expect(span).toBeGreaterThanOrEqual(WEBHOOK_MIN_RETRY_SPAN_MS);
    expect(span).toBeLessThan(40 * HOUR);
    expect(times).toHaveLength(WEBHOOK_RETRY_DELAYS_MS.length + 1);
  });

  it("backs off from seconds to hours, never waiting more than 11 h", () => {
    const delays = WEBHOOK_RETRY_DELAYS_MS.map((_, i) => nextWebhookAttemptDelayMs(i + 1, () => 0.5));
    expect(delays.slice(0, 3)).toEqual([5_000, 300_000, 1_800_000]);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1] ?? 0);
    expect(nextWebhookAttemptDelayMs(50, () => 0.999)).toBeLessThanOrEqual(11 * HOUR);
  });

  it("jitters each wait by at most 10 %", () => {
    expect(nextWebhookAttemptDelayMs(1, () => 0)).toBe(4_500);
    expect(nextWebhookAttemptDelayMs(1, () => 0.999)).toBeLessThanOrEqual(5_500);
  });

  it("keeps retrying past the schedule's end until 24 h have passed since the first try", () => {
    const first = new Date("2024-01-01T00:00:00Z");
    const tries = WEBHOOK_RETRY_DELAYS_MS.length + 5;
    expect(webhookGivesUp(tries, first, new Date(first.getTime() + 23 * HOUR))).toBe(false);
    expect(webhookGivesUp(tries, first, new Date(first.getTime() + 24 * HOUR))).toBe(true);
    expect(webhookGivesUp(2, first, new Date(first.getTime() + 48 * HOUR))).toBe(false);
  });
});

describe("deliveryOutcome", () => {
  it.each([
    [200, "delivered"],
    [204, "delivered"],
    [302, "retry"],
    [404, "retry"],
    [500, "retry"],
    [410, "stop"],
    [null, "retry"],
  ] as const)("treats status %s as %s", (status, outcome) => {
    expect(deliveryOutcome({ status })).toBe(outcome);
  });
});
