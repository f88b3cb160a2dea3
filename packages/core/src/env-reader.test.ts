import { describe, expect, it } from "vitest";
import { EnvReader } from "./env-reader.js";

describe("EnvReader", () => {
  it("uses defaults for unset and empty variables", () => {
    const env = new EnvReader({ B: "" });
    expect(env.int("A", 5)).toBe(5);
    expect(env.bool("B", true)).toBe(true);
    expect(env.string("C", "x")).toBe("x");
    env.done();
  });

  it("reads booleans strictly", () => {
    const env = new EnvReader({ T: "1", F: "false", BAD: "yes" });
    expect(env.bool("T", false)).toBe(true);
    expect(env.bool("F", true)).toBe(false);
    env.bool("BAD", false);
    expect(() => env.done()).toThrow(/BAD: expected true, false, 1 or 0 but received "yes"/);
  });

  it("reports every bad variable at once, by name", () => {
    const env = new EnvReader({ PORT: "http", LEVEL: "loud", OPS: "upscale,zoom", N: "0" });
    env.int("PORT", 8080, { min: 1, max: 65535 });
    env.oneOf("LEVEL", ["info", "debug"], "info");
    env.listOf("OPS", ["upscale", "comic"], ["upscale"]);
    env.int("N", 1, { min: 1 });
    let message = "";
    try {
      env.done();
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of ["PORT", "LEVEL", "OPS", "N"]) expect(message).toContain(`${name}:`);
  });

  it("parses lists and removes duplicates", () => {
    const env = new EnvReader({ OPS: "comic, upscale,comic" });
    expect(env.listOf("OPS", ["upscale", "comic"], [])).toEqual(["comic", "upscale"]);
    env.done();
  });
});
