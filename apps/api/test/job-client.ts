import { once } from "node:events";
import { request, type IncomingMessage } from "node:http";
import { expect, vi } from "vitest";

/** A job as the tests read it from `GET /v1/jobs/:id`. */
export interface JobBody {
  id: string;
  status: string;
  progress: number;
  attempts: number;
  output: { width: number; height: number; url: string } | null;
  error: { code: string; message: string } | null;
}

/** The HTTP calls a client makes against a running API at `base`, over real loopback HTTP, with `headers` (a key). */
export function jobClient(base: string, headers: Record<string, string> = {}) {
  async function job(id: string): Promise<JobBody> {
    return (await (await fetch(`${base}/v1/jobs/${id}`, { headers })).json()) as JobBody;
  }
  return {
    job,
    /** Multipart upload of `file` for an `op` job (default upscale) with `options`; expects 202. */
    async submit(file: Buffer, op = "upscale", options?: Record<string, unknown>): Promise<JobBody> {
      const form = new FormData();
      form.set("op", op);
      form.set("file", new Blob([file]), "photo.png");
      if (options) form.set("options", JSON.stringify(options));
      const res = await fetch(`${base}/v1/jobs`, { method: "POST", body: form, headers });
      expect(res.status).toBe(202);
      return (await res.json()) as JobBody;
    },
    /** Polls the job until `done` holds for it. */
    async waitFor(id: string, done: (j: JobBody) => boolean, timeout = 60_000): Promise<JobBody> {
      return vi.waitFor(
        async () => {
          const current = await job(id);
          if (!done(current)) throw new Error(`job is ${current.status} (${current.progress})`);
          return current;
        },
        { timeout, interval: 25 },
      );
    },
  };
}

/** One Server-Sent Event as a client reads it, or a comment line (`: ping`). */
export type StreamItem = { event: string; id: string | undefined; data: string } | { comment: string };

/** The events and comments of an event-stream body, as they arrive (LF line ends, as the API writes them). */
export async function* readEventStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<StreamItem> {
  const decoder = new TextDecoder();
  let pending = "";
  let event: { event: string; id: string | undefined; data: string[] } = { event: "message", id: undefined, data: [] };
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line === "") {
        if (event.data.length > 0) yield { event: event.event, id: event.id, data: event.data.join("\n") };
        event = { event: "message", id: undefined, data: [] };
      } else if (line.startsWith(":")) {
        yield { comment: line.slice(1).trim() };
      } else {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event.event = value;
        else if (field === "id") event.id = value;
        else if (field === "data") event.data.push(value);
      }
    }
  }
}

export interface JobEventsClient {
  res: IncomingMessage;
  /** The next event (comments skipped), or null once the server has closed the stream. */
  next: (timeoutMs?: number) => Promise<{ event: string; id: string | undefined; data: string } | null>;
  /** Every item, comments included. */
  items: AsyncGenerator<StreamItem>;
  /** Hangs up, as a client that goes away. */
  close: () => void;
}

/**
 * Opens `GET /v1/jobs/:id/events` at `base` over real HTTP, on a connection of its own (node:http
 * without an agent: fetch's pool opens a spare connection after an abort, which holds a closing server).
 */
export async function openJobEvents(
  base: string,
  id: string,
  headers: Record<string, string> = {},
): Promise<JobEventsClient> {
  const req = request(`${base}/v1/jobs/${id}/events`, { headers, agent: false });
  const [res] = (await Promise.race([once(req.end(), "response"), once(req, "error")])) as [IncomingMessage];
  if (res.statusCode !== 200) {
    throw new Error(`GET /v1/jobs/${id}/events answered ${res.statusCode}: ${(await readAll(res)).toString()}`);
  }
  const items = readEventStream(res);
  const close = () => req.destroy();
  return {
    res,
    items,
    async next(timeoutMs = 10_000) {
      const timer = setTimeout(() => req.destroy(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
      try {
        for (;;) {
          const item = await items.next();
          if (item.done) return null;
          if ("event" in item.value) return item.value;
        }
      } finally {
        clearTimeout(timer);
      }
    },
    close,
  };
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
