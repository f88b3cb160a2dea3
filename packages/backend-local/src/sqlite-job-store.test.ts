import { join } from "node:path";
import type { JobStore } from "@imagen/core";
import { describeJobStoreContract } from "@imagen/testing/contracts";
import { makeTempDir } from "../test/temp-dir.js";
import { createSqliteJobStore } from "./sqlite-job-store.js";

describeJobStoreContract("SqliteJobStore", async () => {
  const dir = await makeTempDir("jobs");
  const file = join(dir.path, "imagen.db");
  const stores: JobStore[] = [createSqliteJobStore({ file })];
  const reopen = async () => {
    const store = createSqliteJobStore({ file });
    stores.push(store);
    return store;
  };
  return {
    store: stores[0]!,
    reopen,
    async cleanup() {
      await Promise.all(stores.map((store) => store.close()));
      await dir.remove();
    },
  };
});
