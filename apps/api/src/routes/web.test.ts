import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiHarness, type ApiHarness } from "../../test/harness.js";

// The page's behaviour is tested in a browser (test/web-page.e2e.test.ts); these are its files.
describe("web routes", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await createApiHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("serves the page at / and every script, style and icon it references, each with its type", async () => {
    const page = await h.app.inject({ method: "GET", url: "/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    const referenced = [...page.body.matchAll(/(?:src|href)="(\/[^"]*)"/g)].map(([, url]) => url ?? "");
    expect(referenced).toEqual(expect.arrayContaining(["/app.js", "/app.css", "/favicon.svg"]));
    // app.js imports the other modules: follow the imports too.
    const seen = new Set<string>();
    const queue = referenced.filter((url) => !url.startsWith("/docs"));
    while (queue.length > 0) {
      const url = queue.shift() ?? "";
      if (seen.has(url)) continue;
      seen.add(url);
      const res = await h.app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(200);
      const type = { js: "text/javascript", css: "text/css", svg: "image/svg+xml" }[url.split(".").pop() ?? ""];
      expect(res.headers["content-type"], url).toContain(type);
      for (const [, imported] of res.body.matchAll(/from "\.(\/[\w-]+\.js)"/g)) queue.push(imported ?? "");
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it("has no inline script, so the CSP's script-src 'self' covers the page", async () => {
    const page = await h.app.inject({ method: "GET", url: "/" });
    const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/[\w-]+\.js"/);
      expect(body?.trim()).toBe("");
    }
    expect(page.body).not.toMatch(/\son[a-z]+=/i);
    expect(String(page.headers["content-security-policy"])).toMatch(/script-src 'self'/);
  });

  it("asks browsers to revalidate, and answers a matching If-None-Match with 304 and no body", async () => {
    const first = await h.app.inject({ method: "GET", url: "/app.js" });
    expect(first.headers["cache-control"]).toBe("no-cache");
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await h.app.inject({ method: "GET", url: "/app.js", headers: { "if-none-match": etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");
    const other = await h.app.inject({ method: "GET", url: "/app.css", headers: { "if-none-match": etag } });
    expect(other.statusCode).toBe(200);
  });

  it("serves nothing else: no other path, no directory listing, no path outside public/", async () => {
    for (const url of ["/index.html", "/nope.js", "/public/app.js", "/../package.json", "/%2e%2e/package.json"]) {
      const res = await h.app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(404);
    }
  });
});
