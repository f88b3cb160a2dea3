import { readFileSync } from "node:fs";

/** The files (repo-relative) whose `reader.int("NAME"` … calls are every variable the apps read. */
export const CONFIG_SOURCES = [
  "apps/api/src/config.ts",
  "apps/worker/src/config.ts",
  "packages/core/src/config.ts",
  "packages/backend-local/src/local-config.ts",
  "packages/backend-gcp/src/gcp-config.ts",
  "packages/backends/src/backend-config.ts",
] as const;

/** The repo's `.env.example`: its text, and the variables it sets (commented-out lines excluded). */
export function readEnvExample(): { text: string; env: Record<string, string> } {
  const text = readFileSync(new URL("../../../../.env.example", import.meta.url), "utf8");
  const env = Object.fromEntries(
    text
      .split("\n")
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line): [string, string] => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  return { text, env };
}
