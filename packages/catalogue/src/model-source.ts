import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { EnvReader } from "@imagen/core";

/** Where missing model files are fetched from, as parsed from `IMAGEN_MODEL_SOURCE`. */
export type ModelSourceSpec = { kind: "http"; base: string } | { kind: "gcs"; bucket: string; prefix: string };

/**
 * A place model files can be downloaded from. Implementations outside this package (the GCS one
 * lives in `@imagen/backend-gcp`, the only package allowed to use `@google-cloud/*`) plug in here.
 */
export interface ModelSource {
  /** Where `file` comes from, for logs and error messages (e.g. its URL). */
  describe(file: string): string;
  /**
   * The bytes of `file` (a manifest `file` path such as `upscale/x.onnx`), or `null` when the source
   * does not have it. Transport failures reject, or error the stream part-way through.
   */
  open(file: string): Promise<Readable | null>;
}

// GCS bucket names: 3–63 characters of lowercase letters, digits, '-', '_' and '.'.
const GCS_BUCKET = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

/**
 * Parses `IMAGEN_MODEL_SOURCE`: an `https://` or `http://` base URL (files are fetched from
 * `<base>/<file>`) or `gs://bucket/prefix`. Empty or absent means no source (`undefined`). Throws an
 * error naming `IMAGEN_MODEL_SOURCE` for anything else.
 */
export function parseModelSource(value: string | undefined): ModelSourceSpec | undefined {
  const raw = value?.trim();
  if (!raw) return undefined;
  const fail = (why: string): never => {
    throw new Error(
      `IMAGEN_MODEL_SOURCE: expected an https:// or http:// base URL or gs://bucket/prefix (${why}) but received ${JSON.stringify(value)}`,
    );
  };
  if (raw.startsWith("gs://")) {
    const [bucket = "", ...rest] = raw.slice("gs://".length).split("/");
    if (!GCS_BUCKET.test(bucket)) fail("a valid bucket name");
    const prefix = rest.filter(Boolean).join("/");
    return { kind: "gcs", bucket, prefix };
  }
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    fail("a parsable URL");
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) return fail("a supported scheme");
  if (url.search || url.hash) fail("no query or fragment");
  return { kind: "http", base: url.href.replace(/\/+$/, "") };
}

/** A source over plain HTTP(S): `file` is fetched from `<base>/<file>`, redirects followed. */
export function createHttpModelSource(base: string): ModelSource {
  const urlOf = (file: string): string =>
    `${base.replace(/\/+$/, "")}/${file.split("/").map(encodeURIComponent).join("/")}`;
  return { describe: urlOf, open: (file) => httpGet(urlOf(file)) };
}

/** A source for one file published at `url` (a manifest entry's `download`), whatever its name. */
export function createUrlModelSource(url: string): ModelSource {
  return { describe: () => url, open: () => httpGet(url) };
}

/**
 * Builds the source a spec names. `gcs` must be supplied by the caller (from `@imagen/backend-gcp`);
 * without it a `gs://` spec is an error that says so.
 */
/** IMAGEN_MODEL_SOURCE, unset by default so nothing is downloaded unless a source is named. */
export function readModelSource(env: EnvReader): ModelSourceSpec | undefined {
  try {
    return parseModelSource(env.optionalString("IMAGEN_MODEL_SOURCE"));
  } catch (err) {
    env.problem(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

export function createModelSource(
  spec: ModelSourceSpec,
  factories: { gcs?: (spec: { bucket: string; prefix: string }) => ModelSource } = {},
): ModelSource {
  switch (spec.kind) {
    case "http":
      return createHttpModelSource(spec.base);
    case "gcs":
      if (!factories.gcs) {
        throw new Error(
          `IMAGEN_MODEL_SOURCE=gs://${spec.bucket}/${spec.prefix} needs a GCS model source; this process was built without one`,
        );
      }
      return factories.gcs(spec);
  }
}

/** GETs `url`: the body as a stream, `null` on 404, an error naming the URL on any other failure. */
export async function httpGet(url: string): Promise<Readable | null> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: "follow" });
  } catch (cause) {
    throw new Error(`Could not fetch ${url}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(`Could not fetch ${url}: HTTP ${response.status} ${response.statusText}`);
  }
  return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
}
