import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiHarness, type ApiHarness } from "../test/harness.js";
import { inlineScriptHashes } from "./security-headers.js";

const scripts = (html: string) => [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];

describe("inlineScriptHashes", () => {
  it("hashes each inline script's text and skips scripts loaded from a URL", () => {
    const html = '<script type="module">run()</script><script src="/a.js"> </script><SCRIPT>\n b()\n</SCRIPT>';
    const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
    expect(inlineScriptHashes(html)).toEqual([hash("run()"), hash("\n b()\n")]);
  });
});

describe("security headers", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await createApiHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("sets helmet's headers on API answers and errors", async () => {
    for (const url of ["/v1/ops", "/v1/jobs/nope"]) {
      const res = await h.app.inject({ method: "GET", url });
      expect(res.headers["x-content-type-options"], url).toBe("nosniff");
      expect(res.headers["x-frame-options"], url).toBe("SAMEORIGIN");
      expect(res.headers["strict-transport-security"], url).toMatch(/max-age=/);
      expect(res.headers["content-security-policy"], url).toMatch(/default-src 'self'/);
    }
  });

  it("lets the web page run: any inline script is allowed by hash, its previews by blob:", async () => {
    const page = await h.app.inject({ method: "GET", url: "/" });
    const csp = String(page.headers["content-security-policy"]);
    const inline = scripts(page.body).filter(([, attributes]) => !/src=/.test(attributes ?? ""));
    for (const [, , text] of inline) {
      expect(csp).toContain(
        `'sha256-${createHash("sha256")
          .update(text ?? "")
          .digest("base64")}'`,
      );
    }
    expect(csp).toMatch(/img-src 'self' data: blob: https:/);
    expect(csp).toMatch(/connect-src 'self' https:/);
    expect(csp).toMatch(/style-src [^;]*'unsafe-inline'/);
    expect(csp).not.toContain("upgrade-insecure-requests");
  });

  it("lets swagger-ui at /docs run: every script it loads comes from this origin", async () => {
    const docs = await h.app.inject({ method: "GET", url: "/docs/" });
    const loaded = scripts(docs.body);
    expect(loaded.length).toBeGreaterThan(0);
    for (const [, attributes] of loaded) expect(attributes).toMatch(/src="\.\/static\//);
    expect(String(docs.headers["content-security-policy"])).toMatch(/script-src 'self'/);
    const initializer = await h.app.inject({ method: "GET", url: "/docs/static/swagger-initializer.js" });
    expect(initializer.statusCode).toBe(200);
  });
});
