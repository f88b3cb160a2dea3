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
