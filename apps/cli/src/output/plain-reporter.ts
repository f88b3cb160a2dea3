import type { OutputStream, Reporter } from "./reporter.js";
import { plain } from "./paint.js";
import { outcomeLine, renderSummary } from "./summary.js";

/** For a pipe or a file: one line per file as it finishes, then the summary; no bars, no escapes. */
export function createPlainReporter(out: OutputStream): Reporter {
  return {
    begin: () => {},
    fileStarted: () => {},
    fileProgress: () => {},
    fileFinished: (_file, outcome) => out.write(`${outcomeLine(outcome)}\n`),
    end: (summary) => out.write(`\n${renderSummary(summary, plain)}`),
  };
}
