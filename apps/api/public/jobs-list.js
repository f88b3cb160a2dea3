// The "Recent jobs" list: one card per job, updated in place (a progress tick must not re-create a
// card, or a focused Cancel button would lose focus).

export const STATUS_LABELS = {
  queued: "Queued",
  running: "Processing",
  succeeded: "Done",
  failed: "Failed",
  canceled: "Canceled",
  missing: "Unavailable",
};

export const isActive = (status) => status === "queued" || status === "running";
export const percent = (progress) => `${Math.round((progress ?? 0) * 100)}%`;
export const errorText = (error) => (error ? `${error.code}: ${error.message}` : "");

export function statusText(entry) {
  const label = STATUS_LABELS[entry.status] ?? entry.status;
  return entry.status === "running" ? `${label} ${percent(entry.progress)}` : label;
}

function button(text, action, extra = {}) {
  return Object.assign(document.createElement("button"), { type: "button", textContent: text, ...extra, action });
}

function createCard(entry, actions) {
  const card = document.createElement("li");
  card.className = "job";
  card.dataset.id = entry.id;
  card.innerHTML = `
    <img class="job-thumb" alt="" width="56" height="56" />
    <div class="job-main">
      <div class="job-title"></div>
      <div class="job-sub muted"></div>
      <progress class="job-progress" max="1" aria-hidden="true"></progress>
      <div class="job-error error"></div>
    </div>
    <span class="badge"></span>
    <div class="job-actions"></div>`;
  const name = entry.fileName;
  const buttons = [
    button("View", "view", { ariaLabel: `View ${name}` }),
    button("Cancel", "cancel", { ariaLabel: `Cancel ${name}` }),
    button("Retry", "retry", { ariaLabel: `Retry ${name}` }),
    button("×", "remove", { ariaLabel: `Remove ${name} from the list`, className: "icon", title: "Remove" }),
  ];
  for (const b of buttons) b.addEventListener("click", () => actions[b.action](card.dataset.id));
  card.querySelector(".job-actions").append(...buttons);
  return card;
}

function updateCard(card, entry, selected) {
  card.querySelector(".job-title").textContent = entry.fileName;
  card.querySelector(".job-sub").textContent = [entry.opLabel, entry.tag, entry.when].filter(Boolean).join(" · ");
  const thumb = card.querySelector(".job-thumb");
  if (entry.thumb && thumb.getAttribute("src") !== entry.thumb) thumb.src = entry.thumb;
  thumb.classList.toggle("empty-thumb", !entry.thumb);
  const badge = card.querySelector(".badge");
  badge.textContent = statusText(entry);
  badge.dataset.status = entry.status;
  const progress = card.querySelector(".job-progress");
  progress.hidden = !isActive(entry.status);
  if (entry.status === "running") progress.value = entry.progress ?? 0;
  else progress.removeAttribute("value");
  card.querySelector(".job-error").textContent = errorText(entry.error);
  const show = {
    view: true,
    cancel: isActive(entry.status),
    retry: entry.status === "failed" || entry.status === "canceled",
    remove: true,
  };
  for (const b of card.querySelectorAll(".job-actions button")) b.hidden = !show[b.action];
  card.classList.toggle("selected", selected);
  card.ariaCurrent = selected ? "true" : null;
}

/** Renders `entries` into `list`, reusing the card of each id. */
export function renderJobs(list, entries, { selectedId, actions }) {
  const cards = new Map([...list.children].map((card) => [card.dataset.id, card]));
  const ordered = entries.map((entry) => {
    const card = cards.get(entry.id) ?? createCard(entry, actions);
    cards.delete(entry.id);
    updateCard(card, entry, entry.id === selectedId);
    return card;
  });
  for (const stale of cards.values()) stale.remove();
  ordered.forEach((card, i) => {
    if (list.children[i] !== card) list.insertBefore(card, list.children[i] ?? null);
  });
}
