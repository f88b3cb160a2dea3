import { describe, expect, it } from "vitest";
import { canTransition, JOB_STATUSES, isFinished, newQueuedJob, outputKey, inputKey } from "./job.js";

describe("job state machine", () => {
  it("lets a queued job start, fail or be canceled", () => {
    expect(canTransition("queued", "running")).toBe(true);
    expect(canTransition("queued", "failed")).toBe(true);
    expect(canTransition("queued", "canceled")).toBe(true);
    expect(canTransition("queued", "succeeded")).toBe(false);
  });

  it("lets a running job finish, be released or be re-claimed", () => {
    for (const to of ["succeeded", "failed", "canceled", "queued", "running"] as const) {
      expect(canTransition("running", to)).toBe(true);
    }
  });

  it("never leaves a finished state", () => {
    for (const from of ["succeeded", "failed", "canceled"] as const) {
      expect(isFinished(from)).toBe(true);
      for (const to of JOB_STATUSES) expect(canTransition(from, to)).toBe(false);
    }
  });

  it("creates a queued job with no output, no error and zero progress", () => {
    const job = newQueuedJob(
      { id: "j1", op: "upscale", options: { scale: 4 }, input: { width: 1, height: 1, format: "png", bytes: 9 } },
      new Date("2026-01-01T00:00:00Z"),
    );
    expect(job).toMatchObject({ status: "queued", output: null, error: null, progress: 0, attempts: 0 });
    expect(job.createdAt).toBe("2026-01-01T00:00:00.000Z");
  });

  it("derives the input key from the job id, and one output key per run", () => {
    expect(inputKey("abc")).toBe("inputs/abc");
    expect(outputKey("abc", { attempt: 1, runId: "r1" }, "png")).toBe("outputs/abc/1-r1.png");
    expect(outputKey("abc", { attempt: 1, runId: "r2" }, "png")).not.toBe(
      outputKey("abc", { attempt: 1, runId: "r1" }, "png"),
    );
  });
});
