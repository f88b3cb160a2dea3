import { resolve } from "node:path";
import type { EnvReader } from "@imagen/core";

/** The embedded backend's settings: where its SQLite database and blob files live, and how long jobs stay. */
export interface LocalConfig {
  dataDir: string;
  /** JOB_TTL_DAYS: jobs, inputs and results older than this are removed (as the cloud's TTL policy does). */
  jobTtlDays: number;
}

export function readLocalConfig(env: EnvReader, cwd = process.cwd()): LocalConfig {
  return {
    dataDir: resolve(cwd, env.string("IMAGEN_DATA_DIR", ".imagen")),
    jobTtlDays: env.int("JOB_TTL_DAYS", 7, { min: 1, max: 3650 }),
  };
}
