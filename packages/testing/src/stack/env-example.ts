import { readFileSync } from "node:fs";

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
