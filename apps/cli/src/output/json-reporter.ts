import type { OutputStream, Reporter } from "./reporter.js";

/** `--json`: nothing while the files run, then one JSON document: the op, every file's outcome, the skipped files. */
export function createJsonReporter(out: OutputStream): Reporter {
  return {
    begin: () => {},
    fileStarted: () => {},
    fileProgress: () => {},
    fileFinished: () => {},
    end: (summary) => out.write(`${JSON.stringify({ ...summary, ms: Math.round(summary.ms) }, null, 2)}\n`),
  };
}
