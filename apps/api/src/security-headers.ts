import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import type { FastifyInstance } from "fastify";

// The page at `/` (routes/web.ts serves it); its inline scripts are allowed by hash.
const WEB_PAGE = new URL("../public/index.html", import.meta.url);

/** CSP sources (`'sha256-…'`) of the inline `<script>` elements of an HTML page. */
export function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)]
    .filter(([, attributes]) => !/\bsrc\s*=/i.test(attributes ?? ""))
    .map(
      ([, , body]) =>
        `'sha256-${createHash("sha256")
          .update(body ?? "", "utf8")
          .digest("base64")}'`,
    );
}

/**
 * Security headers on every response (helmet), with a CSP that lets the web page and swagger-ui at
 * `/docs` run: scripts from this origin plus the page's own inline script by hash, inline styles
 * (both pages use them). CORS only for `corsOrigins`; none by default.
 */
export async function registerSecurityHeaders(
  app: FastifyInstance,
  options: { corsOrigins: readonly string[] },
): Promise<void> {
  if (options.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: [...options.corsOrigins],
      methods: ["GET", "HEAD", "POST", "PUT", "DELETE"],
      exposedHeaders: [
        "location",
        "retry-after",
        "x-request-id",
        "idempotent-replayed",
        "preference-applied",
        "www-authenticate",
      ],
      maxAge: 600,
    });
  }
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        "script-src": ["'self'", ...inlineScriptHashes(await readFile(WEB_PAGE, "utf8"))],
        // blob: for the page's previews (the chosen file, a result fetched with a key); https: for a
        // result the API redirects to a signed storage URL.
        "img-src": ["'self'", "data:", "blob:", "https:"],
        // The page fetches a result with its key, following the redirect to a signed storage URL.
        "connect-src": ["'self'", "https:"],
        // The API is often reached over plain http (a laptop, a LAN): upgrading would break the page.
        "upgrade-insecure-requests": null,
      },
    },
  });
}
