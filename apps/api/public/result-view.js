// The "Result" panel for the selected job: status, progress, errors, the before/after viewer and
// the download link.
import { showComparison } from "./compare.js";
import { errorText, isActive, statusText } from "./jobs-list.js";
import { optionTag } from "./options-form.js";
import { formatBytes, opLabel } from "./text.js";

const $ = (id) => document.getElementById(id);
// What the viewer shows now: it is only re-filled when this changes, not on every progress tick.
let shown = "";

/** `photo-upscale-x4.png`: the input's name, the op, its main option, the result's format. */
export function downloadName(entry, op) {
  const stem = entry.fileName.replace(/\.[^.]*$/, "").replace(/[\\/:*?"<>|]+/g, "_") || "image";
  const tag = optionTag(op, entry.options);
  const format = entry.output?.format === "jpeg" ? "jpg" : (entry.output?.format ?? "png");
  return `${stem}-${entry.op}${tag ? `-${tag}` : ""}.${format}`;
}

/** What the live region says: once per status, not per progress tick. */
function statusLine(entry) {
  const ms = entry.timings?.totalMs;
  const took = ms === undefined ? "" : ms < 1000 ? ` in ${Math.round(ms)} ms` : ` in ${(ms / 1000).toFixed(1)} s`;
  const lines = { queued: "queued…", running: "processing…", succeeded: `done${took}.`, failed: "failed." };
  return lines[entry.status] ?? `${statusText(entry).toLowerCase()}.`;
}

/** Shows `entry` (or the empty state); `before` and `after` are object URLs of its input and result. */
export function renderResult(entry, { op, before, after }) {
  $("result-empty").hidden = Boolean(entry);
  $("result-badge").hidden = !entry;
  $("result-actions").hidden = true;
  $("result-progress").hidden = !entry || !isActive(entry.status);
  if (!entry) {
    $("compare").hidden = true;
    $("result-status").textContent = $("result-error").textContent = "";
    return;
  }
  $("result-badge").textContent = statusText(entry);
  $("result-badge").dataset.status = entry.status;
  if (entry.status === "running") $("result-progress").value = entry.progress ?? 0;
  else $("result-progress").removeAttribute("value");
  $("result-error").textContent = errorText(entry.error ?? entry.resultError);
  const status = `${entry.fileName}: ${statusLine(entry)}`;
  if ($("result-status").textContent !== status) $("result-status").textContent = status;

  const key = `${entry.id} ${after} ${before}`;
  if (after && entry.output) {
    const { width, height, format, bytes } = entry.output;
    $("result-actions").hidden = false;
    Object.assign($("download"), { href: after, download: downloadName(entry, op) });
    $("result-meta").textContent = `${width}×${height} · ${format.toUpperCase()} · ${formatBytes(bytes)}`;
    if (shown !== key) {
      const labels = { before: `Before: ${entry.fileName}`, after: `After: ${opLabel(entry.op)}, ${width}×${height}` };
      showComparison($("compare"), { before, after, size: entry.output, labels });
    }
  } else if (before && entry.input && shown !== key) {
    // While it runs: the input, dimmed, in the box the result will take.
    showComparison($("compare"), { after: before, size: entry.input, labels: { after: `Input: ${entry.fileName}` } });
  }
  $("compare").classList.toggle("pending", !after);
  $("compare").hidden = !after && !(before && entry.input);
  shown = key;
}
