#!/usr/bin/env node
// `npx imagen` works right after `npm ci`, before any build: this builds the CLI and the packages it
// imports when their dist is missing or stale (turbo replays an up-to-date build from its cache,
// quietly), then runs dist/main.js. Build output is shown only when the build fails.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { URL, fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const main = new URL("../dist/main.js", import.meta.url);
const turbo = fileURLToPath(new URL("node_modules/.bin/turbo", `file://${root}`));
const [command, prefix] = existsSync(turbo) ? [turbo, []] : ["npx", ["turbo"]];

if (!existsSync(fileURLToPath(main))) process.stderr.write("imagen: building (first run)…\n");
const build = spawnSync(command, [...prefix, "run", "build", "--filter=@imagen/cli...", "--output-logs=errors-only"], {
  cwd: root,
  encoding: "utf8",
  stdio: ["ignore", "pipe", "pipe"],
});
if (build.status !== 0) {
  process.stderr.write(`${build.stdout ?? ""}${build.stderr ?? ""}`);
  process.stderr.write(
    `imagen: the build failed (${build.error?.message ?? `exit ${build.status}`}); run npm run build\n`,
  );
  process.exit(1);
}
await import(main.href);
