import * as path from "node:path";
import { MultiBar, type SingleBar } from "cli-progress";
import type { Paint } from "./paint.js";
import type { OutputStream, Reporter } from "./reporter.js";
import { outcomeLine, renderSummary } from "./summary.js";

/**
 * For a terminal: an overall bar and one bar per running file (cli-progress), a line per file as it
 * finishes printed above the bars, then the summary.
 */
export function createTtyReporter(out: OutputStream, paint: Paint): Reporter {
  const bars = new MultiBar({
    stream: out as NodeJS.WritableStream,
    format: "{bar} {percentage}% | {label}",
    barsize: 24,
    hideCursor: true,
    clearOnComplete: true,
    // The CLI cancels on Ctrl-C itself, and ends the bars in `end`.
    gracefulExit: false,
    autopadding: true,
  });
  const running = new Map<string, SingleBar>();
  let overall: SingleBar | undefined;
  let failed = 0;
  const overallLabel = (): string => `files${failed > 0 ? `, ${failed} failed` : ""}`;

  return {
    begin(files) {
      overall = bars.create(files.length, 0, { label: overallLabel() }, { format: "{bar} {value}/{total} {label}" });
    },
    fileStarted(file) {
      running.set(file.path, bars.create(100, 0, { label: path.basename(file.label) }));
    },
    fileProgress(file, fraction) {
      running.get(file.path)?.update(Math.round(fraction * 100));
    },
    fileFinished(file, outcome) {
      const bar = running.get(file.path);
      running.delete(file.path);
      if (bar) bars.remove(bar);
      if (outcome.status === "failed") failed += 1;
      bars.log(`${paint(outcome.status === "succeeded" ? "ok" : "bad", outcomeLine(outcome))}\n`);
      overall?.increment(1, { label: overallLabel() });
    },
    end(summary) {
      for (const bar of running.values()) bars.remove(bar);
      bars.update();
      bars.stop();
      out.write(`\n${renderSummary(summary, paint)}`);
    },
  };
}
