/**
 * One server of `npm run bench:submit`, run in its own process (forked by submit-load.ts):
 * - `api <dataDir> <modelDir>`: the real API, `buildApp` on the local backend (SQLite job store and
 *   queue, filesystem blobs) as main.ts assembles it without the embedded worker, logging at info
 *   (the default) to stdout;
 * - `bare`: Fastify + @fastify/multipart with one route that reads the same upload and answers 202.
 * Both listen on 127.0.0.1, port 0, send `{ port }` to the parent, and close and exit on "stop"
 * (a clean exit, so `--cpu-prof` writes its profile).
 */
import multipart from "@fastify/multipart";
import { createLocalBackend } from "@imagen/backend-local";
import { createLogger } from "@imagen/core";
import { configureSharp, createModelRegistry, loadManifest } from "@imagen/catalogue";
import Fastify, { type FastifyInstance } from "fastify";
import { collectDefaultMetrics, Registry } from "prom-client";
import type * as AppModule from "../src/app.js";
import type * as ConfigModule from "../src/config.js";

// The built API (dist/, with public/ beside it) as `npm run start:api` runs it; the sources give its types.
// This file runs from bench/dist/bench/.
const built = (file: string) => new URL(`../../../dist/${file}`, import.meta.url).href;
const { buildApp } = (await import(built("app.js"))) as typeof AppModule;
const { loadApiConfig } = (await import(built("config.js"))) as typeof ConfigModule;

export interface ServerReady {
  port: number;
}

async function startApi(
  dataDir: string,
  modelDir: string,
): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  // The environment of `npm run start:api` on this data dir; everything else at its default.
  // No rate limit and no backlog limit: the load run sends thousands of jobs a minute from one
  // address, with no worker to take them.
  const config = loadApiConfig({
    IMAGEN_DATA_DIR: dataDir,
    IMAGEN_MODEL_DIR: modelDir,
    RATE_LIMIT_PER_MIN: "0",
    MAX_QUEUED_JOBS: "0",
  });
  if (config.backend.kind !== "local") throw new Error("Expected the local backend");
  const log = createLogger({ service: "imagen-api", level: config.logLevel });
  configureSharp({ concurrency: 0, cacheMb: 0 });
  const metricsRegistry = new Registry();
  collectDefaultMetrics({ register: metricsRegistry });
  const backend = createLocalBackend({ dataDir: config.backend.dataDir, queue: config.backend.queue, log });
  const app = await buildApp(
    {
      ...backend,
      models: createModelRegistry({
        manifest: await loadManifest(config.models.manifestPath),
        modelDir: config.models.modelDir,
      }),
      localRun: undefined,
      log,
      metricsRegistry,
      readiness: async () => [],
    },
    config,
  );
  return {
    app,
    close: async () => {
      await app.close();
      await backend.close();
    },
  };
}

/** The floor: the same multipart limits as the API, the file read into memory, nothing else. */
async function startBare(): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const app = Fastify();
  await app.register(multipart, {
    limits: { fileSize: 25 * 1024 * 1024, files: 1, fields: 4, fieldSize: 64 * 1024, parts: 5 },
  });
  app.post("/v1/jobs", async (request, reply) => {
    let bytes = 0;
    for await (const part of request.parts()) {
      if (part.type === "file") bytes += (await part.toBuffer()).length;
    }
    return reply.code(202).send({ received: bytes });
  });
  return { app, close: () => app.close() };
}

const [mode, dataDir, modelDir] = process.argv.slice(2);
if (!process.send) throw new Error("Expected to be forked with an IPC channel (by submit-load.ts)");
const server =
  mode === "api" && dataDir && modelDir
    ? await startApi(dataDir, modelDir)
    : mode === "bare"
      ? await startBare()
      : (() => {
          throw new Error(
            `Expected "api <dataDir> <modelDir>" or "bare" but received ${process.argv.slice(2).join(" ")}`,
          );
        })();
await server.app.listen({ host: "127.0.0.1", port: 0 });
const address = server.app.server.address();
if (address === null || typeof address === "string") throw new Error("Expected a TCP address");
process.send({ port: address.port } satisfies ServerReady);
process.on("message", (message) => {
  // CPU time of every thread of this process (event loop, libuv pool, libvips), in µs.
  if (message === "cpu") process.send?.(process.cpuUsage());
  if (message === "stop") void server.close().then(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
