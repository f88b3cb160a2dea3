import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

interface IndexFile {
  indexes: { collectionGroup: string; fields: { fieldPath: string; order: string }[] }[];
  fieldOverrides: { fieldPath: string; ttl?: boolean }[];
}

const load = async () =>
  JSON.parse(await readFile(new URL("../firestore.indexes.json", import.meta.url), "utf8")) as IndexFile;

/** The emulator runs any query without indexes; this checks the file production applies covers `list`. */
describe("firestore.indexes.json", () => {
  it.each([
    ["status"],
    ["op"],
    ["status", "op"],
    ["owner"],
    ["owner", "status"],
    ["owner", "op"],
    ["owner", "status", "op"],
  ])("has a composite index for the filter %j", async (...filters) => {
    const file = await load();
    const wanted = [
      ...filters.map((fieldPath) => ({ fieldPath, order: "ASCENDING" })),
      { fieldPath: "createdAtMs", order: "DESCENDING" },
      { fieldPath: "__name__", order: "DESCENDING" },
    ];
    expect(
      file.indexes.filter((index) => index.collectionGroup === "jobs").map((index) => index.fields),
    ).toContainEqual(wanted);
  });

  it.each(["jobs", "jobs-idempotency"])("turns on TTL for expireAt in %s", async (collectionGroup) => {
    expect((await load()).fieldOverrides).toContainEqual(
      expect.objectContaining({ collectionGroup, fieldPath: "expireAt", ttl: true }),
    );
  });
});
