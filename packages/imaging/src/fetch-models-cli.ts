/**
 * `npm run models:fetch [ids…]`: makes sure the named models (default: the whole catalogue) are in
 * IMAGEN_MODEL_DIR, downloading missing ones from IMAGEN_MODEL_SOURCE or their manifest `download`
 * URL. Exits 1 when any model could not be made available. A `gs://` source needs the GCS model
 * source from `@imagen/backend-gcp`, so this CLI refuses it.
 */
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { DownloadProgress } from "@imagen/catalogue";
import { createModelSource, parseModelSource } from "@imagen/catalogue";
import { createModelRegistry, loadManifest } from "@imagen/catalogue";

// eslint-disable-next-line no-restricted-properties -- an entry point, like apps/*/src/main.ts
const env = process.env;

async function main(ids: string[]): Promise<number> {
  // npm runs workspace scripts in the package dir; resolve relative paths from where it was typed.
  const cwd = env["INIT_CWD"] ?? process.cwd();
  const modelDir = path.resolve(cwd, env["IMAGEN_MODEL_DIR"] ?? "models");
  const manifestPath = env["IMAGEN_MODEL_MANIFEST"];
  const spec = parseModelSource(env["IMAGEN_MODEL_SOURCE"]);
  const manifest = await loadManifest(manifestPath === undefined ? undefined : path.resolve(cwd, manifestPath));
  const bar = createProgressLine(process.stderr);
  const registry = createModelRegistry({
    manifest,
    modelDir,
    ...(spec ? { source: createModelSource(spec) } : {}),
    onDownloadProgress: (p) => bar.update(p),
  });
  const wanted = ids.length > 0 ? ids.map((id) => registry.get(id)) : registry.list();
  console.log(`models: ${wanted.length} into ${modelDir}${spec ? ` from ${describeSpec(spec)}` : ""}`);
  let failed = 0;
  for (const entry of wanted) {
    const started = performance.now();
    try {
      await registry.resolve(entry.id);
      bar.done(`ok   ${entry.id} (${entry.file}, ${Math.round(performance.now() - started)} ms)`);
    } catch (err) {
      failed += 1;
      bar.done(`FAIL ${entry.id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

function describeSpec(spec: NonNullable<ReturnType<typeof parseModelSource>>): string {
  return spec.kind === "http" ? spec.base : `gs://${spec.bucket}/${spec.prefix}`;
}

/**
 * A one-line progress bar redrawn in place on a TTY; elsewhere (CI logs) a plain line at 0 %
 * and at each further quarter, so logs stay short.
 */
function createProgressLine(out: NodeJS.WriteStream): {
  update(p: DownloadProgress): void;
  done(line: string): void;
} {
  let lastQuarter = -1;
  let drawn = false;
  return {
    update(p) {
      const fraction = p.totalBytes > 0 ? p.receivedBytes / p.totalBytes : 1;
      const sizes = `${mb(p.receivedBytes)}/${mb(p.totalBytes)} MB`;
      if (out.isTTY) {
        const width = 30;
        const filled = Math.round(fraction * width);
        const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
        out.write(`\r${bar} ${String(Math.floor(fraction * 100)).padStart(3)}% ${sizes} ${p.id}`);
        drawn = true;
        return;
      }
      const quarter = Math.floor(fraction * 4);
      if (quarter !== lastQuarter) out.write(`  ${p.id}: ${quarter * 25}% (${sizes})\n`);
      lastQuarter = quarter;
    },
    done(line) {
      if (drawn) out.write("\r\x1b[2K");
      drawn = false;
      lastQuarter = -1;
      console.log(line);
    },
  };
}

function mb(bytes: number): string {
  return (bytes / 1_048_576).toFixed(1);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
