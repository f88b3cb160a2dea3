import { AppError } from "@imagen/core";
import type { FastifyInstance } from "fastify";
import { jsonNestingExceeds } from "./options-guard.js";

export interface JsonBodyLimits {
  maxBytes: number;
  maxDepth: number;
}

/** The API's JSON bodies are a few fields (a job naming an upload, an upload's content type). */
export const JSON_BODY_LIMITS: JsonBodyLimits = { maxBytes: 64 * 1024, maxDepth: 16 };

/**
 * Replaces Fastify's `application/json` parser with one that bounds the body before parsing it: its
 * size (413 `PAYLOAD_TOO_LARGE`, by the body limit), then its nesting (400 `INVALID_REQUEST`), then
 * Fastify's own parser, which keeps its prototype-poisoning checks.
 */
export function registerGuardedJsonParser(app: FastifyInstance, limits: JsonBodyLimits = JSON_BODY_LIMITS): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser(
    "application/json",
    { parseAs: "string", bodyLimit: limits.maxBytes },
    (request, body, done) => {
      if (jsonNestingExceeds(body as string, limits.maxDepth)) {
        done(new AppError("INVALID_REQUEST", `Expected a JSON body nested at most ${limits.maxDepth} levels deep`));
        return;
      }
      void parse(request, body as string, done);
    },
  );
}
