import { AppError, type JobStore } from "@imagen/core";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Gauge } from "prom-client";
import { errorResponse } from "../api-schemas.js";
import { openJobEventStream } from "../job-event-stream.js";
import { getOwnedJob } from "../job-access.js";
import type { JobWatcher } from "../job-watch.js";
import { clientBucket } from "../rate-limit.js";
import type { WatchSlots } from "../watch-slots.js";

export interface JobEventRoutesDeps {
  jobs: JobStore;
  watcher: JobWatcher;
  slots: WatchSlots;
  /** How often a comment line (`: ping`) is sent, so that proxies keep a quiet stream open. */
  heartbeatMs: number;
  watchesOpen: Gauge<"kind">;
}

// Refused streams should come back after open ones had time to end.
const STREAMS_RETRY_AFTER_S = 5;

const EVENTS_DESCRIPTION = `Server-Sent Events (text/event-stream), each with an id:
- on connect, \`status\`: the job, as GET /v1/jobs/{id} answers it;
- \`status\` (the job) whenever its status or attempt changes, \`progress\` (\`{"progress":0.42}\`) when its progress does;
- \`end\` (the finished job) once it has succeeded, failed or been canceled; then the server closes the stream.
Comment lines (\`: ping\`) keep a quiet stream open. A client reconnecting with Last-Event-ID gets the current
state only if it changed since that event, and \`end\` (again) when the job has ended.`;

/** One event of the stream, as OpenAPI 3.2's `itemSchema` would put it (fields of the SSE wire format). */
const EVENT_SCHEMA = {
  type: "object",
  description: EVENTS_DESCRIPTION,
  properties: {
    event: { type: "string", enum: ["status", "progress", "end"] },
    data: { type: "string", description: "JSON: the job (status, end) or {progress} (progress)" },
    id: { type: "string" },
    retry: { type: "integer" },
  },
  required: ["event", "data", "id"],
} as const;

function tooManyStreams(refused: "key" | "instance"): AppError {
  return refused === "key"
    ? new AppError("QUOTA_EXCEEDED", "This API key has as many open event streams as it may have; close one first", {
        retryAfterS: STREAMS_RETRY_AFTER_S,
      })
    : new AppError("OVERLOADED", "This server has as many open event streams as it takes; retry shortly", {
        expose: true,
        retryAfterS: STREAMS_RETRY_AFTER_S,
      });
}

/** `GET /v1/jobs/:id/events`: the job's status and progress as Server-Sent Events, until it ends. */
export async function jobEventRoutes(app: FastifyInstance, deps: JobEventRoutesDeps): Promise<void> {
  app.get(
    "/v1/jobs/:id/events",
    {
      schema: {
        operationId: "streamJobEvents",
        summary: "Follow a job: its status and progress as Server-Sent Events",
        description: EVENTS_DESCRIPTION,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        headers: Type.Object({
          "last-event-id": Type.Optional(
            Type.String({ maxLength: 128, description: "The id of the last event received, to resume" }),
          ),
        }),
        response: {
          200: {
            description: "The event stream",
            content: { "text/event-stream": { schema: EVENT_SCHEMA } },
          },
          404: errorResponse("No such job for this key (JOB_NOT_FOUND)"),
          429: errorResponse("This key has the most open event streams it may have (QUOTA_EXCEEDED)", {
            retryAfter: true,
          }),
          503: errorResponse("This server has the most open streams it takes, or is overloaded (OVERLOADED)", {
            retryAfter: true,
          }),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const job = await getOwnedJob(deps.jobs, id, request.apiKey ?? null);
      const slot = deps.slots.acquire(clientBucket(request));
      if ("refused" in slot) throw tooManyStreams(slot.refused);
      deps.watchesOpen.inc({ kind: "events" });
      const lastEventId = request.headers["last-event-id"];
      const stream = openJobEventStream(job, typeof lastEventId === "string" ? lastEventId : undefined, {
        watcher: deps.watcher,
        heartbeatMs: deps.heartbeatMs,
        log: request.log,
        onStop: () => {
          slot.release();
          deps.watchesOpen.dec({ kind: "events" });
        },
      });
      return (
        reply
          .type("text/event-stream")
          .header("cache-control", "no-cache")
          // nginx and others buffer responses unless told not to; events must arrive as they happen.
          .header("x-accel-buffering", "no")
          // The connection is the stream's: when the stream ends, so does it, and a closing server is not held open.
          .header("connection", "close")
          .send(stream)
      );
    },
  );
}
