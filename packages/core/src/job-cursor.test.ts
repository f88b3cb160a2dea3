import { isAppError } from "./errors.js";
import { describe, expect, it } from "vitest";
import { decodeJobCursor, encodeJobCursor } from "./job-cursor.js";

describe("job cursor", () => {
  it("decodes what it encoded", () => {
    const cursor = { createdAtMs: 1_704_067_200_000, id: "0123456789abcdefghjk" };
    expect(decodeJobCursor(encodeJobCursor(cursor))).toEqual(cursor);
  });

  it.each(["", "not-a-cursor!", "e30", Buffer.from('{"t":1.5,"id":"x"}').toString("base64url")])(
    "rejects %j with INVALID_CURSOR",
    (raw) => {
      let caught: unknown;
      try {
        decodeJobCursor(raw);
      } catch (err) {
        caught = err;
      }
      expect(isAppError(caught)).toBe(true);
      expect(caught).toMatchObject({ name: "ValidationError", code: "INVALID_CURSOR" });
    },
  );
});
