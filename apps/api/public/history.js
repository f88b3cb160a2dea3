// This browser's recent jobs: a short list in localStorage (id, file name, op, options, last known
// status, a small thumbnail), and each job's input file in IndexedDB, for the comparison and retry
// after a reload. Both are best effort: a private window or a full disk only loses history.

const LIST_ITEM = "imagen.jobs";
const MAX_JOBS = 20;
const THUMB_PX = 96;

export function loadHistory() {
  try {
    const list = JSON.parse(localStorage.getItem(LIST_ITEM) ?? "[]");
    return Array.isArray(list) ? list.filter((entry) => typeof entry?.id === "string") : [];
  } catch {
    return [];
  }
}

/** Saves `entries` (newest first), trimmed to the newest MAX_JOBS; returns the ids dropped. */
export function saveHistory(entries) {
  const kept = entries.slice(0, MAX_JOBS);
  try {
    localStorage.setItem(LIST_ITEM, JSON.stringify(kept));
  } catch {
    // Quota: thumbnails are the bulk; keep the list without them.
    localStorage.setItem(LIST_ITEM, JSON.stringify(kept.map(({ thumb, ...entry }) => entry)));
  }
  return entries.slice(MAX_JOBS).map((entry) => entry.id);
}

/** A small WebP data URL of an image blob, or null when the browser cannot decode it. */
export async function thumbnailOf(blob) {
  try {
    const bitmap = await createImageBitmap(blob);
    const scale = Math.min(1, THUMB_PX / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return canvas.toDataURL("image/webp", 0.8);
  } catch {
    return null;
  }
}

let database;
function inputs(mode) {
  database ??= new Promise((resolve, reject) => {
    const open = indexedDB.open("imagen", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("inputs");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return database.then((db) => db.transaction("inputs", mode).objectStore("inputs"));
}

function settle(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

const attempt = (mode, use) =>
  inputs(mode)
    .then((store) => settle(use(store)))
    .catch(() => undefined);

export const saveInput = (id, file) => attempt("readwrite", (store) => store.put(file, id));
export const loadInput = (id) => attempt("readonly", (store) => store.get(id));
export const deleteInput = (id) => attempt("readwrite", (store) => store.delete(id));
