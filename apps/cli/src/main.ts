import { runCli } from "./cli.js";
import { EXIT_CODES } from "./exit-codes.js";

// The first Ctrl-C cancels the running files and prints the summary; a second one exits at once.
const interrupt = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupt.abort(new Error(`${signal}: interrupted`));
    process.once(signal, () => process.exit(EXIT_CODES.interrupted));
  });
}

const status = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: interrupt.signal,
});
// Exit once stdout has taken everything: a pipe is written asynchronously.
process.stdout.write("", () => process.exit(status));
