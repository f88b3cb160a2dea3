import { describe, expect, it } from "vitest";
import { createWatchSlots } from "./watch-slots.js";

describe("watch slots", () => {
  it("refuses past a bucket's limit, then past the instance's, and frees a slot once on release", () => {
    const slots = createWatchSlots({ maxOpen: 3, maxOpenPerKey: 2 });
    const a1 = slots.acquire("key:a");
    const a2 = slots.acquire("key:a");
    expect(slots.acquire("key:a")).toEqual({ refused: "key" });
    const b1 = slots.acquire("key:b");
    expect(slots.acquire("key:c")).toEqual({ refused: "instance" });
    if (!("release" in a1) || !("release" in a2) || !("release" in b1)) throw new Error("expected slots");
    a1.release();
    a1.release();
    expect(slots.acquire("key:b")).toHaveProperty("release");
    expect(slots.acquire("key:a")).toEqual({ refused: "instance" });
    a2.release();
    b1.release();
    expect(slots.acquire("key:a")).toHaveProperty("release");
  });
});
