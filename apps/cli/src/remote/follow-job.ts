import { setTimeout as sleep } from "node:timers/promises";
import { AppError, isAppError, isFinished, type JobView } from "@imagen/core";
import type { ApiClient } from "./api-client.js";
import { parseSse, type SseEvent } from "./sse.js";

export interface FollowOptions {
  signal: AbortSignal;
  onProgress(fraction: number): void;
  /** Polling interval when the API has no events route. */
  pollIntervalMs?: number;
  /** Wait before reconnecting a dropped stream, unless the server sent `retry`. */
  reconnectDelayMs?: number;
  /** Reconnects in a row that get no event before giving up. */
  maxReconnects?: number;
}

/**
 * Waits until the job has finished and returns it as it ended. Follows the live events
 * (`GET /v1/jobs/:id/events`: `status` with the job, `progress`, a final `end`); a dropped stream is
 * reopened with `Last-Event-ID`. When the API has no events route (404), polls `GET /v1/jobs/:id`.
 */
export async function followJob(client: ApiClient, id: string, options: FollowOptions): Promise<JobView> {
  const reconnectDelayMs = options.reconnectDelayMs ?? 500;
  const maxReconnects = options.maxReconnects ?? 5;
  let lastEventId: string | undefined;
  let retryMs = reconnectDelayMs;
  let idleReconnects = 0;
  for (;;) {
    let sawEvent = false;
    try {
      const res = await client.events(id, { lastEventId, signal: options.signal });
      if (res === null) return await pollJob(client, id, options);
      if (!res.body || !res.headers.get("content-type")?.startsWith("text/event-stream")) {
        return await pollJob(client, id, options);
      }
      for await (const event of parseSse(res.body)) {
        sawEvent = true;
        if (event.id !== undefined) lastEventId = event.id;
        if (event.retryMs !== undefined) retryMs = event.retryMs;
        const finished = handleEvent(event, options);
        if (finished) return finished;
      }
    } catch (err) {
      // The API's own answers (401, JOB_NOT_FOUND) are final; a dropped or refused connection is retried.
      if (options.signal.aborted || (isAppError(err) && err.code !== "SERVICE_UNAVAILABLE")) throw err;
    }
    idleReconnects = sawEvent ? 0 : idleReconnects + 1;
    if (idleReconnects > maxReconnects) {
      throw new AppError("SERVICE_UNAVAILABLE", `The events stream of job ${id} kept closing before the job ended`, {
        expose: true,
      });
    }
    await sleep(retryMs, undefined, { signal: options.signal });
  }
}

/** Reports progress; returns the job once an event shows it finished. */
function handleEvent(event: SseEvent, options: FollowOptions): JobView | undefined {
  switch (event.event) {
    case "progress": {
      const { progress } = parseData<{ progress?: unknown }>(event);
      if (typeof progress === "number") options.onProgress(progress);
      return undefined;
    }
    case "status":
    case "end": {
      const job = parseData<JobView>(event);
      if (typeof job.progress === "number") options.onProgress(job.progress);
      // `end` carries the finished job; a `status` showing it finished (a reconnect after the end) is as good.
      return isFinished(job.status) ? job : undefined;
    }
    default:
      return undefined;
  }
}

function parseData<T>(event: SseEvent): T {
  try {
    return JSON.parse(event.data) as T;
  } catch (cause) {
    throw new AppError(
      "INTERNAL",
      `Expected JSON in the ${event.event} event but received ${event.data.slice(0, 200)}`,
      {
        cause,
        expose: true,
      },
    );
  }
}

async function pollJob(client: ApiClient, id: string, options: FollowOptions): Promise<JobView> {
  const intervalMs = options.pollIntervalMs ?? 250;
  for (;;) {
    const job = await client.job(id, options.signal);
    options.onProgress(job.progress);
    if (isFinished(job.status)) return job;
    await sleep(intervalMs, undefined, { signal: options.signal });
  }
}
