import { OP_NAMES } from "@imagen/core";
import { describe, expect, it } from "vitest";
import { comic } from "./comic.js";
import { enhance } from "./enhance.js";
import { OP_HANDLERS, type OpTable } from "./index.js";
import { upscale } from "./upscale.js";

describe("OP_HANDLERS", () => {
  it("has one handler for every op of core, and no other", () => {
    expect(Object.keys(OP_HANDLERS).sort()).toEqual([...OP_NAMES].sort());
  });

  it("is typed so that a table missing an op does not compile", () => {
    // @ts-expect-error: background-removal has no handler here; `npm run typecheck` fails if this compiles.
    const incomplete: OpTable = { upscale, enhance, comic };
    expect(Object.keys(incomplete)).toHaveLength(3);
  });
});
