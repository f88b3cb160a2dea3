import { AppError, ERROR_CATALOG, type ErrorCode, type JobView, type OpName } from "@imagen/core";
import type { OpListing } from "../ops-listing.js";

/** A page of `GET /v1/jobs`. */
export interface JobPage {
  jobs: JobView[];
  nextCursor: string | null;
}

export interface JobQuery {
  status?: string | undefined;
  op?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** The HTTP calls `imagen` makes to a running Imagen. Every failure is an `AppError` with the API's code. */
export interface ApiClient {
  /** The origin the client talks to, for messages. */
  readonly baseUrl: string;
  ops(): Promise<OpListing[]>;
  /** `POST /v1/jobs`, multipart: `op`, `options` (JSON), `file`. */
  submit(op: OpName, options: Record<string, unknown>, file: Buffer, fileName: string): Promise<JobView>;
  job(id: string, signal?: AbortSignal): Promise<JobView>;
  list(query: JobQuery): Promise<JobPage>;
  cancel(id: string): Promise<JobView>;
  /** `GET /v1/jobs/:id/events` (Server-Sent Events); `null` when the API has no such route (404). */
  events(id: string, options: { lastEventId: string | undefined; signal: AbortSignal }): Promise<Response | null>;
  /** The result's bytes; redirects (a signed storage URL) are followed. */
  download(url: string, signal: AbortSignal): Promise<Buffer>;
}

/**
 * A client for the API at `url`; `key` is sent as `Authorization: Bearer <key>` (fetch drops it
 * when a redirect leaves the API's origin, so a signed storage URL never sees it).
 */
export function createApiClient(options: { url: string; key?: string | undefined }): ApiClient {
  const base = new URL(options.url.endsWith("/") ? options.url : `${options.url}/`);
  const auth: Record<string, string> = options.key === undefined ? {} : { authorization: `Bearer ${options.key}` };
  // Paths are relative to the base, so an API mounted under a prefix (`https://host/imagen/`) works.
  const urlOf = (path: string): URL => new URL(path.replace(/^\//, ""), base);

  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    const url = urlOf(path);
    // An absolute URL elsewhere (a result in a storage bucket) gets no key.
    const headers = { ...(url.origin === base.origin && auth), ...(init.headers as Record<string, string>) };
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers });
    } catch (cause) {
      if (init.signal?.aborted) throw cause;
      throw new AppError("SERVICE_UNAVAILABLE", `Cannot reach Imagen at ${base.href}: ${describeFetchError(cause)}`, {
        cause,
        expose: true,
      });
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }
  const json = async <T>(path: string, init?: RequestInit): Promise<T> => (await (await call(path, init)).json()) as T;

  return {
    baseUrl: base.href,
    ops: async () => (await json<{ ops: OpListing[] }>("/v1/ops")).ops,
    async submit(op, jobOptions, file, fileName) {
      const form = new FormData();
      form.set("op", op);
      form.set("options", JSON.stringify(jobOptions));
      form.set("file", new Blob([file]), fileName);
      return asJob(await json("/v1/jobs", { method: "POST", body: form }));
    },
    job: async (id, signal) => asJob(await json(`/v1/jobs/${encodeURIComponent(id)}`, signal && { signal })),
    async list(query) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
      const page = await json<JobPage>(`/v1/jobs${params.size > 0 ? `?${params.toString()}` : ""}`);
      return { jobs: page.jobs.map(asJob), nextCursor: page.nextCursor };
    },
    cancel: async (id) => asJob(await json(`/v1/jobs/${encodeURIComponent(id)}`, { method: "DELETE" })),
    async events(id, { lastEventId, signal }) {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
      try {
        return await call(`/v1/jobs/${encodeURIComponent(id)}/events`, { headers, signal });
      } catch (err) {
        if (err instanceof AppError && err.httpStatus === 404 && err.code !== "JOB_NOT_FOUND") return null;
        throw err;
      }
    },
    async download(url, signal) {
      const res = await call(url, { signal, redirect: "follow" });
      return Buffer.from(await res.arrayBuffer());
    },
  };
}

/** The API's `{ error: { code, message } }` as an `AppError`; a body without one is described by its status. */
async function errorOf(res: Response): Promise<AppError> {
  const text = await res.text().catch(() => "");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === "string" ? error.code : undefined;
  const message = typeof error?.message === "string" ? error.message : `HTTP ${res.status} ${res.statusText}`.trim();
  return remoteError(code ?? codeOfStatus(res.status), message, res.status);
}

/**
 * An error the API reported (an answer, or a failed job's `error`). Codes are the public catalogue;
 * one this build does not know (a newer API) is kept in the message.
 */
export function remoteError(code: string, message: string, httpStatus?: number): AppError {
  const known = Object.hasOwn(ERROR_CATALOG, code) ? (code as ErrorCode) : undefined;
  return new AppError(known ?? "INTERNAL", known ? message : `${code}: ${message}`, {
    expose: true,
    ...(httpStatus !== undefined && { httpStatus }),
  });
}

function codeOfStatus(status: number): ErrorCode {
  if (status === 401) return "UNAUTHENTICATED";
  if (status === 404) return "NOT_FOUND";
  if (status === 413) return "PAYLOAD_TOO_LARGE";
  if (status === 429) return "RATE_LIMITED";
  if (status === 503) return "SERVICE_UNAVAILABLE";
  return status >= 500 ? "INTERNAL" : "INVALID_REQUEST";
}

function asJob(body: unknown): JobView {
  const job = body as Partial<JobView> | null;
  if (typeof job?.id !== "string" || typeof job.status !== "string") {
    throw new AppError("INTERNAL", `Expected a job from the API but received ${JSON.stringify(body)?.slice(0, 200)}`, {
      expose: true,
    });
  }
  return job as JobView;
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return err instanceof Error ? err.message : String(err);
}
