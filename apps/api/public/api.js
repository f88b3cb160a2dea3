// The API as the page uses it: every request carries the key when one is set, and every refusal
// becomes an ApiError with the API's own code and message.
import { readEvents } from "./sse.js";

const KEY_ITEM = "imagen.apiKey";
const FINISHED = new Set(["succeeded", "failed", "canceled"]);

export const isFinished = (job) => FINISHED.has(job.status);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const apiKey = {
  get: () => localStorage.getItem(KEY_ITEM) ?? "",
  set: (key) => (key ? localStorage.setItem(KEY_ITEM, key) : localStorage.removeItem(KEY_ITEM)),
};

/** Called with the ApiError of any 401, so the page can ask for a key. */
let onUnauthenticated = () => {};
export const whenUnauthenticated = (handler) => (onUnauthenticated = handler);

function authHeaders() {
  const key = apiKey.get();
  return key ? { authorization: `Bearer ${key}` } : {};
}

async function errorOf(response) {
  const body = await response.json().catch(() => null);
  const error = body?.error;
  const refused = error?.code
    ? new ApiError(response.status, error.code, error.message ?? "")
    : new ApiError(response.status, `HTTP_${response.status}`, response.statusText || "The request failed");
  if (response.status === 401) onUnauthenticated(refused);
  return refused;
}

/** fetch() with the key; resolves to the Response when it is 2xx, else rejects with an ApiError. */
export async function request(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { ...authHeaders(), ...init.headers } });
  if (!response.ok) throw await errorOf(response);
  return response;
}

export const getJson = async (path, init) => (await request(path, init)).json();

export const listOps = async () => (await getJson("/v1/ops")).ops;

export function submitJob({ file, op, options }) {
  const form = new FormData();
  form.set("op", op);
  form.set("options", JSON.stringify(options));
  form.set("file", file, file.name);
  return getJson("/v1/jobs", { method: "POST", body: form });
}

export const getJob = (id) => getJson(`/v1/jobs/${encodeURIComponent(id)}`);
export const cancelJob = (id) => getJson(`/v1/jobs/${encodeURIComponent(id)}`, { method: "DELETE" });

/** The result image as a Blob: fetched with the key (an <img> cannot send one), redirects followed. */
export async function fetchResult(job) {
  return (await request(job.output.url)).blob();
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

// A browser opens at most 6 HTTP/1.1 connections per server and a stream holds one for the whole
// job: past this many streams, jobs are polled, so that uploads and results never wait for a slot.
const MAX_STREAMS = 3;
let openStreams = 0;

/**
 * Follows a job until it finishes, calling `onJob(job)` on each change; resolves to the finished job.
 * Reads `GET /v1/jobs/:id/events` (reconnecting with Last-Event-ID when the stream drops); where
 * the stream is not served, refused or keeps failing, it polls `GET /v1/jobs/:id` instead.
 */
export async function followJob(job, { onJob, signal }) {
  const followed = { job, lastEventId: "" };
  const update = (next) => {
    followed.job = next;
    onJob(next);
  };
  for (let failures = 0; failures < 3 && openStreams < MAX_STREAMS && !signal?.aborted; failures += 1) {
    openStreams += 1;
    let outcome;
    try {
      outcome = await readStream(followed, update, signal);
    } finally {
      openStreams -= 1;
    }
    if (outcome === "finished") return followed.job;
    if (outcome === "unavailable") break;
    if (outcome === "progressed") failures = -1;
    await sleep(250 * (failures + 2), signal);
  }
  return pollJob(followed.job, update, signal);
}

/** One connection to the job's stream: "finished", "progressed" or "dropped" (reconnect), "unavailable" (poll). */
async function readStream(followed, update, signal) {
  const headers = { accept: "text/event-stream", ...authHeaders() };
  if (followed.lastEventId) headers["last-event-id"] = followed.lastEventId;
  let response;
  try {
    response = await fetch(`/v1/jobs/${encodeURIComponent(followed.job.id)}/events`, {
      headers,
      cache: "no-store",
      signal,
    });
  } catch {
    return "dropped";
  }
  if (response.status === 401) throw await errorOf(response);
  if (!response.ok || !response.headers.get("content-type")?.startsWith("text/event-stream")) return "unavailable";
  let outcome = "dropped";
  try {
    for await (const event of readEvents(response.body, followed)) {
      outcome = "progressed";
      if (event.type === "progress") update({ ...followed.job, progress: JSON.parse(event.data).progress });
      else if (event.type === "status" || event.type === "end") update(JSON.parse(event.data));
      if (event.type === "end" || isFinished(followed.job)) return "finished";
    }
  } catch (err) {
    if (!(err instanceof TypeError || err instanceof SyntaxError || err?.name === "AbortError")) throw err;
  }
  // The stream ended before the job did (a restart, a proxy timeout): reconnect where it stopped.
  return outcome;
}

async function pollJob(job, update, signal) {
  let current = job;
  for (let wait = 300; !isFinished(current) && !signal?.aborted; wait = Math.min(wait * 1.5, 2000)) {
    await sleep(wait, signal);
    if (signal?.aborted) break;
    try {
      current = await getJob(job.id);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      continue; // offline for a moment: keep trying
    }
    update(current);
  }
  return current;
}
