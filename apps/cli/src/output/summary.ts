import type { FileOutcome, FileStatus } from "../file-runner.js";
import { formatBytes, formatChange, formatMs, formatPixels } from "./format.js";
import type { Paint, Style } from "./paint.js";
import type { RunSummary } from "./reporter.js";
import { renderTable } from "./table.js";

const STATUS_STYLES: Record<FileStatus | "skipped", Style> = {
  succeeded: "ok",
  failed: "bad",
  canceled: "dim",
  skipped: "dim",
};

/**
 * The table printed at the end of a run: per file its status, size and bytes in → out, time and
 * error code; then each failure's message, and the totals.
 */
export function renderSummary(summary: RunSummary, paint: Paint): string {
  const rows = [
    ...summary.outcomes.map((o) => [
      o.file,
      o.status,
      formatChange(o.input ? formatPixels(o.input) : undefined, o.result ? formatPixels(o.result) : undefined),
      formatChange(
        o.input ? formatBytes(o.input.bytes) : undefined,
        o.result ? formatBytes(o.result.bytes) : undefined,
      ),
      o.status === "canceled" && o.ms === 0 ? "" : formatMs(o.ms),
      o.error?.code ?? "",
    ]),
    ...summary.skipped.map((s) => [s.label, "skipped", "", "", "", ""]),
  ];
  const [header, ...lines] = renderTable(["FILE", "STATUS", "SIZE", "BYTES", "TIME", "ERROR"], rows);
  const statuses = [...summary.outcomes.map((o) => o.status), ...summary.skipped.map(() => "skipped" as const)];
  const out = [paint("bold", header ?? ""), ...lines.map((line, i) => paint(STATUS_STYLES[statuses[i]!], line))];
  const failures = summary.outcomes.filter((o) => o.error !== null);
  if (failures.length > 0) out.push("", ...failures.map((o) => `${o.file}: ${o.error!.code} ${o.error!.message}`));
  out.push("", totals(summary));
  return `${out.join("\n")}\n`;
}

function totals(summary: RunSummary): string {
  const count = (status: FileStatus): number => summary.outcomes.filter((o) => o.status === status).length;
  const parts = [`${count("succeeded")} succeeded`, `${count("failed")} failed`];
  if (count("canceled") > 0) parts.push(`${count("canceled")} canceled`);
  if (summary.skipped.length > 0) parts.push(`${summary.skipped.length} skipped`);
  return `${summary.op}: ${parts.join(", ")} in ${formatMs(summary.ms)}`;
}

/** One line for a finished file, as the plain and terminal outputs print it. */
export function outcomeLine(outcome: FileOutcome): string {
  if (outcome.status === "succeeded") {
    const size = formatChange(formatPixels(outcome.input!), formatPixels(outcome.result!));
    return `${outcome.status} ${outcome.file} → ${outcome.output} (${size}, ${formatMs(outcome.ms)})`;
  }
  const error = outcome.error ? ` ${outcome.error.code}: ${outcome.error.message}` : "";
  return `${outcome.status} ${outcome.file}${error}`;
}
