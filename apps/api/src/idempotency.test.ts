import { newQueuedJob } from "@imagen/core";
import { describe, expect, it } from "vitest";
import { idempotencyClaim, readIdempotencyKey, replayOf, requestFingerprint } from "./idempotency.js";

describe("readIdempotencyKey", () => {
  it("takes 1 to 255 visible ASCII characters, and nothing without the header", () => {
    expect(readIdempotencyKey(undefined)).toBeUndefined();
    expect(readIdempotencyKey("order-42/retry:1")).toBe("order-42/retry:1");
    expect(readIdempotencyKey("x".repeat(255))).toHaveLength(255);
  });

  it.each([[""], ["has space"], ["x".repeat(256)], ["ünïcode"]])("refuses %j with 400", (value) => {
    expect(() => readIdempotencyKey(value)).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
  });
});

describe("requestFingerprint", () => {
  const base = {
    op: "upscale",
    options: { scale: 2, model: "a" },
    webhook: undefined,
    input: { file: Buffer.from("img") },
  };

  it("is the same for the same request, whatever the order of the options' keys", () => {
    expect(requestFingerprint(base)).toBe(requestFingerprint({ ...base, options: { model: "a", scale: 2 } }));
  });

  it.each([
    ["op", { op: "enhance" }],
    ["options", { options: { scale: 4, model: "a" } }],
    ["webhook", { webhook: "https://example.com/hook" }],
    ["file bytes", { input: { file: Buffer.from("img2") } }],
    ["input kind", { input: { uploadId: "img" } }],
  ])("differs when the %s differ", (_, change) => {
    expect(requestFingerprint({ ...base, ...change })).not.toBe(requestFingerprint(base));
  });
});

describe("replayOf", () => {
  const now = new Date("2024-01-01T00:00:00.000Z");
  const job = newQueuedJob(
    {
      id: "j1",
      op: "upscale",
      options: {},
      input: { width: 1, height: 1, format: "png", bytes: 1 },
      idempotency: idempotencyClaim("k", "fp-1", now),
    },
    now,
  );

  it("returns the earlier job for the same request and holds the key for 24 h", () => {
    expect(replayOf(job, "fp-1")).toBe(job);
    expect(job.idempotency?.expiresAt).toBe("2024-01-02T00:00:00.000Z");
  });

  it("refuses another request under the same key with 409 IDEMPOTENCY_CONFLICT", () => {
    expect(() => replayOf(job, "fp-2")).toThrow(
      expect.objectContaining({ code: "IDEMPOTENCY_CONFLICT", httpStatus: 409 }),
    );
  });
});
