import { stat } from "node:fs/promises";
import * as path from "node:path";
import { createModelRegistry, loadManifest, type ModelEntry } from "@imagen/catalogue";
import type { CommandContext } from "../context.js";
import { EXIT_CODES } from "../exit-codes.js";
import { formatBytes } from "../output/format.js";
import { renderTable } from "../output/table.js";

type ModelState = "ok" | "present" | "missing" | "wrong size" | "wrong checksum";

interface ModelRow {
  id: string;
  op: string;
  role: string | null;
  default: boolean;
  file: string;
  bytes: number;
  state: ModelState;
  problem: string | null;
}

/**
 * `imagen models [verify]`: the catalogue's models, their files and sizes, and whether each file
 * is in the model folder. `verify` also checks every file's sha256 against the catalogue (the
 * registry's own check) and exits 1 when a file is missing or does not match.
 */
export async function listModels(ctx: CommandContext, options: { verify: boolean }): Promise<number> {
  const manifest = await loadManifest(ctx.models.manifestPath);
  const registry = createModelRegistry({ manifest, modelDir: ctx.models.modelDir });
  const rows: ModelRow[] = [];
  for (const entry of manifest.models) {
    const { state, problem } = await inspect(entry, ctx.models.modelDir, options.verify, (id) => registry.resolve(id));
    rows.push({
      id: entry.id,
      op: entry.op,
      role: entry.role ?? null,
      default: entry.default,
      file: entry.file,
      bytes: entry.bytes,
      state,
      problem,
    });
  }
  const bad = rows.filter((r) => r.problem !== null);
  if (ctx.json) {
    ctx.stdout.write(`${JSON.stringify({ modelDir: ctx.models.modelDir, models: rows }, null, 2)}\n`);
  } else {
    const table = renderTable(
      ["ID", "OP", "ROLE", "FILE", "SIZE", "STATE"],
      rows.map((r) => [
        r.id,
        r.op,
        [r.default && "default", r.role].filter(Boolean).join(", "),
        r.file,
        formatBytes(r.bytes),
        r.state,
      ]),
    );
    const lines = table.map((line, i) => (i === 0 ? ctx.paint("bold", line) : line));
    for (const row of bad) lines.push(ctx.paint("bad", `${row.id}: ${row.problem}`));
    if (options.verify)
      lines.push(
        "",
        `${rows.length - bad.length} of ${rows.length} model files match the catalogue (${ctx.models.modelDir})`,
      );
    ctx.stdout.write(`${lines.join("\n")}\n`);
  }
  return options.verify && bad.length > 0 ? EXIT_CODES.failed : EXIT_CODES.ok;
}

async function inspect(
  entry: ModelEntry,
  modelDir: string,
  verify: boolean,
  resolve: (id: string) => Promise<string>,
): Promise<{ state: ModelState; problem: string | null }> {
  const info = await stat(path.resolve(modelDir, entry.file)).catch(() => null);
  if (!info?.isFile()) return { state: "missing", problem: `no ${entry.file} in ${modelDir}` };
  if (info.size !== entry.bytes) {
    return { state: "wrong size", problem: `${entry.file} has ${info.size} bytes, the catalogue says ${entry.bytes}` };
  }
  if (!verify) return { state: "present", problem: null };
  return resolve(entry.id).then(
    () => ({ state: "ok", problem: null }),
    (err: unknown) => ({ state: "wrong checksum", problem: err instanceof Error ? err.message : String(err) }),
  );
}
