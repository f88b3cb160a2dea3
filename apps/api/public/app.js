// The page at `/`: pick images, an op and its options; follow each job live; compare and download.
import * as api from "./api.js";
import { initComparison } from "./compare.js";
import { deleteInput, loadHistory, loadInput, saveHistory, saveInput, thumbnailOf } from "./history.js";
import { isActive, renderJobs } from "./jobs-list.js";
import { initKeyPanel, showKeyPanel } from "./key-panel.js";
import { optionTag, renderOptions } from "./options-form.js";
import { renderPicked } from "./picker.js";
import { renderResult } from "./result-view.js";
import { describeError, opLabel } from "./text.js";

const $ = (id) => document.getElementById(id);
const OP_ITEM = "imagen.op";

const state = {
  ops: new Map(),
  form: null,
  /** Files chosen but not yet submitted: `{ file, url, error }`. */
  picked: [],
  entries: loadHistory(),
  selectedId: null,
  inputUrls: new Map(),
  resultUrls: new Map(),
  loading: new Set(),
  followers: new Map(),
};

const entryOf = (id) => state.entries.find((entry) => entry.id === id);
const jobFields = (job) => {
  const { status, progress, error, output, timings, options, input } = job;
  return { status, progress, error, output, timings, options, input };
};
function persist() {
  const dropped = saveHistory(state.entries);
  state.entries = state.entries.filter((entry) => !dropped.includes(entry.id));
  dropped.forEach(forget);
}

// ---- ops and options

async function loadOps() {
  const select = $("op");
  try {
    const ops = await api.listOps();
    state.ops = new Map(ops.map((op) => [op.name, op]));
    select.replaceChildren(
      ...ops.map(
        (op) => new Option(`${opLabel(op.name)}${op.available === false ? " (not available here)" : ""}`, op.name),
      ),
    );
    if (state.ops.has(localStorage.getItem(OP_ITEM))) select.value = localStorage.getItem(OP_ITEM);
    select.disabled = $("submit").disabled = false;
    $("form-error").textContent = "";
    chooseOp();
    render();
    return true;
  } catch (err) {
    select.replaceChildren(new Option(err.status === 401 ? "Enter the API key first" : "Unavailable"));
    const hint = Object.assign(document.createElement("p"), {
      className: "muted",
      textContent: "Options appear once the service answers.",
    });
    $("options").replaceChildren(hint);
    $("more").hidden = true;
    select.disabled = $("submit").disabled = true;
    if (err.status !== 401) $("form-error").textContent = describeError(err);
    return false;
  }
}

function chooseOp() {
  const op = state.ops.get($("op").value);
  localStorage.setItem(OP_ITEM, op.name);
  const reason = op.unavailableReason ? ` Not available on this server: ${op.unavailableReason}.` : "";
  $("op-description").textContent = `${op.description}.${reason}`;
  state.form = renderOptions(op, { main: $("options"), more: $("more-options") });
  $("more").hidden = !state.form.hasMore;
}

// ---- choosing files

function addFiles(files) {
  for (const file of files) state.picked.push({ file, url: URL.createObjectURL(file), error: "" });
  showPicked();
}

function showPicked() {
  renderPicked($("picked"), state.picked, {
    onRemove(item) {
      URL.revokeObjectURL(item.url);
      state.picked.splice(state.picked.indexOf(item), 1);
      showPicked();
      $("file").focus();
    },
  });
  const count = state.picked.length;
  $("submit").textContent = count > 1 ? `Process ${count} images` : "Process image";
}

// ---- jobs

async function startJob(file, op, options, { select, inputUrl }) {
  let job;
  try {
    job = await api.submitJob({ file, op: op.name, options });
  } catch (err) {
    return describeError(err);
  }
  state.inputUrls.set(job.id, inputUrl ?? URL.createObjectURL(file));
  const entry = { id: job.id, op: op.name, fileName: file.name, createdAt: job.createdAt, ...jobFields(job) };
  state.entries.unshift(entry);
  if (select) state.selectedId = job.id;
  persist();
  render();
  follow(job);
  void saveInput(job.id, file);
  entry.thumb = await thumbnailOf(file);
  persist();
  render();
  return null;
}

function follow(job) {
  state.followers.get(job.id)?.abort();
  const controller = new AbortController();
  state.followers.set(job.id, controller);
  api
    .followJob(job, { signal: controller.signal, onJob: (next) => update(job.id, jobFields(next)) })
    .then((done) => update(job.id, jobFields(done)))
    .catch((err) => {
      if (err.status === 404) update(job.id, { status: "missing", error: { code: err.code, message: err.message } });
      else if (err.status !== 401) update(job.id, { error: { code: err.code ?? "NETWORK", message: err.message } });
    })
    .finally(() => state.followers.get(job.id) === controller && state.followers.delete(job.id));
}

const FINISHED = new Set(["succeeded", "failed", "canceled", "missing"]);

function update(id, fields) {
  const entry = entryOf(id);
  if (!entry) return;
  // A finished job never runs again (a retry is a new job): a late event of a stream must not revive it.
  if (FINISHED.has(entry.status) && fields.status !== undefined && !FINISHED.has(fields.status)) return;
  const before = entry.status;
  Object.assign(entry, fields);
  if (entry.status !== before) persist();
  if (entry.status === "succeeded" && before !== "succeeded") void loadResult(entry);
  render();
}

async function loadResult(entry) {
  if (state.resultUrls.has(entry.id) || state.loading.has(entry.id)) return;
  state.loading.add(entry.id);
  try {
    const blob = await api.fetchResult(entry);
    state.resultUrls.set(entry.id, URL.createObjectURL(blob));
    entry.thumb = (await thumbnailOf(blob)) ?? entry.thumb;
    persist();
  } catch (err) {
    entry.resultError = { code: err.code ?? "NETWORK", message: err.message };
  } finally {
    state.loading.delete(entry.id);
  }
  render();
}

/** The input's object URL: from this session, else from IndexedDB (kept for reloads). */
async function inputUrlOf(id) {
  if (!state.inputUrls.has(id)) {
    const file = await loadInput(id);
    if (file) state.inputUrls.set(id, URL.createObjectURL(file));
  }
  return state.inputUrls.get(id);
}

function forget(id) {
  state.followers.get(id)?.abort();
  for (const urls of [state.inputUrls, state.resultUrls]) {
    if (urls.has(id)) URL.revokeObjectURL(urls.get(id));
    urls.delete(id);
  }
  void deleteInput(id);
}

const actions = {
  async view(id, { scroll = true } = {}) {
    state.selectedId = id;
    await inputUrlOf(id);
    const entry = entryOf(id);
    if (entry?.status === "succeeded") {
      delete entry.resultError;
      void loadResult(entry);
    }
    render();
    if (scroll && matchMedia("(max-width: 899px)").matches) $("result-title").scrollIntoView({ behavior: "smooth" });
  },
  async cancel(id) {
    try {
      state.followers.get(id)?.abort();
      update(id, jobFields(await api.cancelJob(id)));
    } catch (err) {
      update(id, { error: { code: err.code ?? "NETWORK", message: err.message } });
    }
  },
  async retry(id) {
    const entry = entryOf(id);
    const op = state.ops.get(entry.op);
    const file = await loadInput(id);
    if (!file || !op) {
      $("form-error").textContent = `${entry.fileName} is no longer stored in this browser: choose it again.`;
      return;
    }
    const problem = await startJob(file, op, entry.options, { select: true });
    if (problem) $("form-error").textContent = `${entry.fileName} — ${problem}`;
  },
  remove(id) {
    state.entries = state.entries.filter((entry) => entry.id !== id);
    forget(id);
    if (state.selectedId === id) state.selectedId = state.entries[0]?.id ?? null;
    persist();
    render();
  },
};

// ---- rendering

function render() {
  const decorated = state.entries.map((entry) => ({
    ...entry,
    opLabel: opLabel(entry.op),
    tag: optionTag(state.ops.get(entry.op), entry.options),
    when: entry.createdAt ? new Date(entry.createdAt).toLocaleTimeString([], { timeStyle: "short" }) : "",
  }));
  renderJobs($("jobs"), decorated, { selectedId: state.selectedId, actions });
  $("recent-empty").hidden = state.entries.length > 0;
  $("clear-history").hidden = !state.entries.some((entry) => !isActive(entry.status));
  const selected = entryOf(state.selectedId);
  renderResult(selected, {
    op: state.ops.get(selected?.op),
    before: state.inputUrls.get(selected?.id),
    after: state.resultUrls.get(selected?.id),
  });
}

// ---- start-up

function init() {
  initComparison($("compare"));
  api.whenUnauthenticated((err) => showKeyPanel({ prominent: true, message: describeError(err) }));
  initKeyPanel({
    onChange: async () => {
      const ok = await loadOps();
      if (ok) resume();
      return ok;
    },
  });
  $("op").addEventListener("change", chooseOp);
  $("file").addEventListener("change", () => {
    addFiles([...$("file").files]);
    $("file").value = "";
  });
  const zone = $("dropzone");
  // The whole window takes drops, so a near miss does not open the image in place of the page.
  window.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  for (const type of ["dragleave", "dragend"]) window.addEventListener(type, () => zone.classList.remove("dragging"));
  window.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (event.dataTransfer?.files.length) addFiles([...event.dataTransfer.files]);
  });
  document.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    event.preventDefault();
    addFiles(files);
  });
  $("job-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void submit();
  });
  $("clear-history").addEventListener("click", () => {
    for (const entry of state.entries.filter((e) => !isActive(e.status))) actions.remove(entry.id);
  });
  state.selectedId = state.entries[0]?.id ?? null;
  render();
  void loadOps().then((ok) => ok && resume());
}

/** Follows the jobs still running and shows the selected one (after start-up, or a new key). */
function resume() {
  for (const entry of state.entries) if (isActive(entry.status)) follow(entry);
  if (state.selectedId) void actions.view(state.selectedId, { scroll: false });
}

async function submit() {
  $("form-error").textContent = "";
  const op = state.ops.get($("op").value);
  if (!op) return;
  if (state.picked.length === 0) {
    $("form-error").textContent = "Choose an image first: drop it above, paste it, or pick a file.";
    $("file").focus();
    return;
  }
  const options = state.form.values();
  const items = state.picked.splice(0);
  $("submit").disabled = true;
  const problems = [];
  for (const [i, item] of items.entries()) {
    $("submit").textContent = items.length > 1 ? `Uploading ${i + 1} of ${items.length}…` : "Uploading…";
    const select = problems.length === i;
    const problem = await startJob(item.file, op, options, { select, inputUrl: item.url });
    if (problem) problems.push({ ...item, error: problem });
  }
  $("submit").disabled = false;
  state.picked = problems;
  showPicked();
  $("form-error").textContent = problems.map((item) => `${item.file.name} — ${item.error}`).join("\n");
  // On a phone the result is below the form: bring it into view once something was started.
  if (problems.length < items.length && matchMedia("(max-width: 899px)").matches) {
    $("result-title").scrollIntoView({ behavior: "smooth" });
  }
}

init();
