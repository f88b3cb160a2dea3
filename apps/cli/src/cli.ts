import { readFileSync } from "node:fs";
import { CommanderError } from "commander";
import { ConfigError, isAppError } from "@imagen/core";
import { loadCliConfig, type CliConfig } from "./config.js";
import { createContext } from "./context.js";
import { EXIT_CODES } from "./exit-codes.js";
import type { OutputStream } from "./output/reporter.js";
import { buildProgram } from "./program.js";
import { isUsageError } from "./usage-error.js";

export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: OutputStream;
  stderr: OutputStream;
  /** Aborts on Ctrl-C: running files are canceled. */
  signal: AbortSignal;
}

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version;

/**
 * Runs one `imagen` command line and returns its exit status: 0, 1 when a file or call failed, 2
 * for a usage or configuration error (the message on stderr), 130 when interrupted.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let config: CliConfig;
  try {
    config = loadCliConfig(io.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`imagen: ${err.message}\n`);
    return EXIT_CODES.usage;
  }
  let status: number = EXIT_CODES.ok;
  const program = buildProgram(VERSION, {
    context: (flags) => createContext(config, flags, io),
    run: async (action) => {
      status = await action();
    },
  });
  program.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return status;
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CliIo): number {
  // Commander has printed its own message (or the help, or the version).
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  if (io.signal.aborted) {
    io.stderr.write("imagen: interrupted\n");
    return EXIT_CODES.interrupted;
  }
  if (isUsageError(err)) {
    io.stderr.write(`imagen: ${err.message}\n(run with --help for usage)\n`);
    return EXIT_CODES.usage;
  }
  if (isAppError(err)) {
    io.stderr.write(`imagen: ${err.code} ${err.message}\n`);
    return EXIT_CODES.failed;
  }
  io.stderr.write(`imagen: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT_CODES.failed;
}
