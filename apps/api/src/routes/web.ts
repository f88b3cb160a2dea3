import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";

const PUBLIC_DIR = new URL("../../public/", import.meta.url);

// Only these kinds are served: anything else in public/ (notes, sources) stays private.
const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

interface WebFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** The page's files, read once at start-up: `/` for index.html, `/<name>` for the others. */
function readPublicFiles(): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  for (const name of readdirSync(PUBLIC_DIR)) {
    const type = CONTENT_TYPES[name.slice(name.lastIndexOf("."))];
    if (type === undefined || name.startsWith(".")) continue;
    const body = readFileSync(new URL(name, PUBLIC_DIR));
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    files.set(name === "index.html" ? "/" : `/${name}`, { body, type, etag });
  }
  return files;
}

/**
 * `GET /` and the files it loads (`/app.js`, `/app.css`, ...): a page to use the service from a
 * browser. `no-cache` with an ETag: a browser revalidates each load (a 304 costs no body), so a
 * new deploy is picked up at once and the page's modules never mix versions.
 */
export async function webRoutes(app: FastifyInstance): Promise<void> {
  for (const [url, file] of readPublicFiles()) {
    app.get(url, { schema: { hide: true } }, async (request, reply) => {
      reply.header("cache-control", "no-cache").header("etag", file.etag);
      if (request.headers["if-none-match"] === file.etag) return reply.code(304).send();
      return reply.type(file.type).send(file.body);
    });
  }
}
