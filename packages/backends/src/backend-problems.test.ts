import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { Backend } from "@imagen/core";
import { backendProblems } from "./backend-problems.js";

/** A backend whose pings are given: only `ping` is ever called by `backendProblems`. */
function pinging(jobs: () => Promise<void>, queue: () => Promise<void>, blobs: () => Promise<void>): Backend {
  return { jobs: { ping: jobs }, queue: { ping: queue }, blobs: { ping: blobs } } as unknown as Backend;
}

describe("backendProblems", () => {
  it("reports a ping that fails fast while an earlier one is still pending, with no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const backend = pinging(
        () => sleep(200),
        () => Promise.reject(new Error("queue refused")),
        () => Promise.resolve(),
      );
      const problems = await backendProblems(backend);
      // Give Node a turn to report any rejection nobody handled.
      await sleep(20);
      expect(problems).toEqual(["queue unreachable: queue refused"]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("names every backend that is unreachable, and nothing when all answer", async () => {
    const down = (what: string) => () => Promise.reject(new Error(`${what} down`));
    expect(await backendProblems(pinging(down("db"), down("mq"), down("fs")))).toEqual([
      "job store unreachable: db down",
      "queue unreachable: mq down",
      "blob store unreachable: fs down",
    ]);
    const up = () => Promise.resolve();
    expect(await backendProblems(pinging(up, up, up))).toEqual([]);
  });
});
