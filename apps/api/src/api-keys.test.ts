import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { apiKeyEntriesOfFile, apiKeyEntriesOfList, findApiKey, parseApiKeys } from "./api-keys.js";

const sha256Hex = (secret: string) => createHash("sha256").update(secret).digest("hex");

describe("parseApiKeys", () => {
  it("reads plain and hashed secrets, keeping only their digests", () => {
    const { keys, problems } = parseApiKeys(
      apiKeyEntriesOfList(`alice:s3cret-a, bob:sha256:${sha256Hex("s3cret-b").toUpperCase()}`),
    );
    expect(problems).toEqual([]);
    expect(keys.map((k) => [k.name, k.sha256.toString("hex")])).toEqual([
      ["alice", sha256Hex("s3cret-a")],
      ["bob", sha256Hex("s3cret-b")],
    ]);
  });

  it("lets a secret contain colons", () => {
    const { keys } = parseApiKeys(apiKeyEntriesOfList("ci:a:b:c"));
    expect(keys[0]?.sha256.toString("hex")).toBe(sha256Hex("a:b:c"));
  });

  it("reads a file: one entry a line, blank lines and comments skipped, positions by line", () => {
    const entries = apiKeyEntriesOfFile("# team keys\n\nalice:one-secret\r\n  # old\nbob:two-secret\n");
    expect(entries).toEqual([
      { text: "alice:one-secret", position: "line 3" },
      { text: "bob:two-secret", position: "line 5" },
    ]);
    expect(parseApiKeys(entries).keys.map((k) => k.name)).toEqual(["alice", "bob"]);
  });

  it.each([
    ["no colon", "just-a-secret", "just-a-secret"],
    ["an empty name", ":secret-value", "secret-value"],
    ["a name with a space", "al ice:secret-value", "secret-value"],
    ["an empty secret", "alice:", undefined],
    ["a secret with a space", "alice:two words", "two words"],
    ["a short hash", "alice:sha256:abcd", "abcd"],
    ["a hash that is not hex", `alice:sha256:${"z".repeat(64)}`, "zzzz"],
    ["an empty entry", "", undefined],
  ])("refuses %s, naming the entry's position and never its secret", (_case, entry, secret) => {
    const { keys, problems } = parseApiKeys(apiKeyEntriesOfList(`ok:fine-secret,${entry}`));
    expect(keys.map((k) => k.name)).toEqual(["ok"]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^entry 2: expected/);
    if (secret !== undefined) expect(problems[0]).not.toContain(secret);
  });

  it("refuses a name used twice, naming both positions", () => {
    const { problems } = parseApiKeys(apiKeyEntriesOfList("alice:first-secret,bob:x-secret,alice:second-secret"));
    expect(problems).toEqual(['entry 3: the key name "alice" is also used by entry 1']);
    expect(problems[0]).not.toContain("second-secret");
  });

  it("refuses a list with no entries, which would silently leave the API open", () => {
    expect(parseApiKeys(apiKeyEntriesOfFile("# nothing yet\n")).problems).toEqual([
      "no key entries; unset the variable to run without keys",
    ]);
  });
});

describe("findApiKey", () => {
  const { keys } = parseApiKeys(apiKeyEntriesOfList(`alice:alice-secret,bob:sha256:${sha256Hex("bob-secret")}`));

  it("finds the key whose secret was presented, plain or stored as a hash", () => {
    expect(findApiKey(keys, "alice-secret")?.name).toBe("alice");
    expect(findApiKey(keys, "bob-secret")?.name).toBe("bob");
  });

  it("finds nothing for a wrong secret, or for a key's stored hash presented as its secret", () => {
    expect(findApiKey(keys, "alice-secret ")).toBeNull();
    expect(findApiKey(keys, sha256Hex("bob-secret"))).toBeNull();
    expect(findApiKey([], "alice-secret")).toBeNull();
  });
});
