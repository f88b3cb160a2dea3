import { describe, expect, it } from "vitest";
import { pubSubNames, subscriptionSettings } from "./pubsub-settings.js";

describe("pubSubNames", () => {
  it("names a topic, subscription and dead-letter pair per op", () => {
    expect(pubSubNames("background-removal", "prod-jobs", "prod-worker")).toEqual({
      topic: "prod-jobs-background-removal",
      subscription: "prod-worker-background-removal-worker",
      deadLetterTopic: "prod-jobs-background-removal-dead-letter",
      deadLetterSubscription: "prod-worker-background-removal-dead-letter-sub",
    });
  });

  it("uses the topic prefix for subscriptions by default", () => {
    expect(pubSubNames("upscale", "dev").subscription).toBe("dev-upscale-worker");
  });
});

describe("subscriptionSettings", () => {
  it("carries the queue timing into Pub/Sub units", () => {
    expect(
      subscriptionSettings({ leaseMs: 60_000, maxAttempts: 7, backoffBaseMs: 1_500, backoffMaxMs: 60_000 }),
    ).toEqual({
      ackDeadlineSeconds: 60,
      retryPolicy: { minimumBackoff: { seconds: 1, nanos: 500_000_000 }, maximumBackoff: { seconds: 60, nanos: 0 } },
      maxDeliveryAttempts: 7,
    });
  });

  it("clamps to the ranges Pub/Sub accepts", () => {
    const settings = subscriptionSettings({ leaseMs: 300, maxAttempts: 3, backoffBaseMs: 900_000, backoffMaxMs: 10 });
    expect(settings.ackDeadlineSeconds).toBe(10);
    expect(settings.maxDeliveryAttempts).toBe(5);
    expect(settings.retryPolicy.minimumBackoff).toEqual({ seconds: 600, nanos: 0 });
    expect(settings.retryPolicy.maximumBackoff).toEqual({ seconds: 600, nanos: 0 });
    expect(
      subscriptionSettings({ leaseMs: 3_600_000, maxAttempts: 500, backoffBaseMs: 0, backoffMaxMs: 0 }),
    ).toMatchObject({
      ackDeadlineSeconds: 600,
      maxDeliveryAttempts: 100,
    });
  });
});
