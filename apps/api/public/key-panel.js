// The API key: hidden behind the header's "API key" button while the server takes requests
// without one; shown prominently, focused, with the API's refusal, after a 401.
import { apiKey } from "./api.js";

const $ = (id) => document.getElementById(id);

const HELP = {
  normal: "Requests are sent with this key as a Bearer token. It is kept in this browser only.",
  needed: "Enter your key to continue. It is sent as a Bearer token and kept in this browser only.",
};

export function showKeyPanel({ prominent = false, message = "" } = {}) {
  const panel = $("key-panel");
  const wasShown = !panel.hidden && panel.classList.contains("attention") === prominent;
  panel.hidden = false;
  panel.classList.toggle("attention", prominent);
  $("key-toggle").ariaExpanded = "true";
  $("key-title").textContent = prominent ? "This server needs an API key" : "API key";
  $("key-help").textContent = prominent ? HELP.needed : HELP.normal;
  $("key-error").textContent = message;
  if (!wasShown) $("api-key").focus();
}

export function hideKeyPanel() {
  $("key-panel").hidden = true;
  $("key-panel").classList.remove("attention");
  $("key-toggle").ariaExpanded = "false";
  $("key-error").textContent = "";
}

function showKeyState() {
  const saved = apiKey.get() !== "";
  $("key-toggle").classList.toggle("has-key", saved);
  $("key-toggle-label").textContent = saved ? "API key saved" : "API key";
  $("api-key").value = apiKey.get();
}

/** Wires the panel; `onChange()` runs after the key is saved or forgotten and resolves to whether it works. */
export function initKeyPanel({ onChange }) {
  showKeyState();
  $("key-toggle").addEventListener("click", () => ($("key-panel").hidden ? showKeyPanel() : hideKeyPanel()));
  const apply = async (key) => {
    apiKey.set(key);
    showKeyState();
    $("key-error").textContent = "";
    if (await onChange()) hideKeyPanel();
  };
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void apply($("api-key").value.trim());
  });
  $("key-forget").addEventListener("click", () => void apply(""));
}
