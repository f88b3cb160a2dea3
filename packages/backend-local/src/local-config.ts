import { resolve } from "node:path";
import type { EnvReader } from "@imagen/core";

/** The embedded backend's one setting: where its SQLite database and blob files live. */
export interface LocalConfig {
  dataDir: string;
}

export function readLocalConfig(env: EnvReader, cwd = process.cwd()): LocalConfig {
  return { dataDir: resolve(cwd, env.string("IMAGEN_DATA_DIR", ".imagen")) };
}
