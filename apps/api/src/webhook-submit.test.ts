import { patternImage } from "@imagen/testing/images";
import { describe, expect, it } from "vitest";
import { createApiHarness, multipart } from "../test/harness.js";

async function submitWith(
  webhooks: { allowHttp: boolean; allowPrivate: boolean },
  webhook: string,
  as: "multipart" | "upload" = "multipart",
) {
  const h = await createApiHarness({ edge: { webhooks } });
  const file = await patternImage({ width: 16, height: 16 });
  const form = multipart({ op: "upscale", file });
  form.set("webhook", webhook);
  let res;
  if (as === "multipart") {
    res = await h.app.inject({ method: "POST", url: "/v1/jobs", body: form });
  } else {
    const ticket = (
      await h.app.inject({ method: "POST", url: "/v1/uploads", payload: { contentType: "image/png" } })
    ).json<{ id: string; url: string }>();
    await h.app.inject({ method: "PUT", url: ticket.url, headers: { "content-type": "image/png" }, payload: file });
    res = await h.app.inject({
      method: "POST",
      url: "/v1/jobs",
      payload: { op: "upscale", input: { uploadId: ticket.id }, webhook },
    });
  }
  return { h, res };
}

describe("POST /v1/jobs with a webhook", () => {
  it.each(["multipart", "upload"] as const)("records the webhook on the job, pending (%s)", async (as) => {
    const { h, res } = await submitWith({ allowHttp: true, allowPrivate: true }, "http://127.0.0.1:9/hook", as);
    try {
      expect(res.statusCode).toBe(202);
      const job = await h.jobs.get(res.json<{ id: string }>().id);
      expect(job?.webhook).toEqual({
        url: "http://127.0.0.1:9/hook",
        state: "pending",
        attempts: [],
        nextAttemptAt: null,
      });
      expect(res.json()).toMatchObject({ webhook: { url: "http://127.0.0.1:9/hook", state: "pending" } });
    } finally {
      await h.close();
    }
  });

  it.each([
    [
      "an http:// URL without IMAGEN_WEBHOOK_ALLOW_HTTP",
      { allowHttp: false, allowPrivate: true },
      "http://127.0.0.1:9/hook",
    ],
    ["a loopback address", { allowHttp: false, allowPrivate: false }, "https://127.0.0.1/hook"],
    ["the metadata server", { allowHttp: true, allowPrivate: false }, "http://169.254.169.254/computeMetadata/v1/"],
    ["a private address", { allowHttp: false, allowPrivate: false }, "https://10.1.2.3/hook"],
    ["not a URL", { allowHttp: true, allowPrivate: true }, "hook please"],
  ])("refuses %s with 400 INVALID_WEBHOOK_URL and stores nothing", async (_, webhooks, url) => {
    const { h, res } = await submitWith(webhooks, url);
    try {
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: "INVALID_WEBHOOK_URL" } });
      expect((await h.jobs.list({}, { limit: 10 })).jobs).toEqual([]);
      expect(await h.storedInputs()).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
