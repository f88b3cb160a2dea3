import { Readable } from "node:stream";
import { isFinished, toJobView, type Job, type Logger } from "@imagen/core";
import { jobVersion, type JobWatcher } from "./job-watch.js";

/**
 * One Server-Sent Event of `GET /v1/jobs/:id/events`. `status` and `end` carry the job (as
 * `GET /v1/jobs/:id` answers it), `progress` carries `{ progress }`. The id is the job's version
 * (`jobVersion`) plus `.0` for the state event of that version and `.1` for `end`.
 */
export interface JobEvent {
  event: "status" | "progress" | "end";
  id: string;
  data: unknown;
}

export function formatEvent(event: JobEvent): string {
  return `event: ${event.event}\nid: ${event.id}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

const HEARTBEAT = ": ping\n\n";

function stateEvent(event: "status" | "progress", job: Job): JobEvent {
  return {
    event,
    id: `${jobVersion(job)}.0`,
    data: event === "status" ? toJobView(job) : { progress: job.progress },
  };
}

function endEvents(job: Job): JobEvent[] {
  return isFinished(job.status) ? [{ event: "end", id: `${jobVersion(job)}.1`, data: toJobView(job) }] : [];
}

/**
 * What a connection starts with: the job as it is now, unless `lastEventId` shows the client saw this
 * very version; then `end` when the job has ended, whatever the client saw (it is the one event a
 * reconnecting client may get again, with the same id: it closes the stream).
 */
export function openingEvents(job: Job, lastEventId: string | undefined): JobEvent[] {
  const seen = lastEventId !== undefined && lastEventId.slice(0, lastEventId.lastIndexOf(".")) === jobVersion(job);
  return [...(seen ? [] : [stateEvent("status", job)]), ...endEvents(job)];
}

/** The events for `job`, a new version of `previous`: `status` when the status or attempt changed, else `progress`. */
export function changeEvents(previous: Job, job: Job): JobEvent[] {
  const statusChanged = previous.status !== job.status || previous.attempts !== job.attempts;
  const first = statusChanged
    ? [stateEvent("status", job)]
    : previous.progress !== job.progress
      ? [stateEvent("progress", job)]
      : [];
  return [...first, ...endEvents(job)];
}

export interface JobEventStreamDeps {
  watcher: JobWatcher;
  heartbeatMs: number;
  log: Pick<Logger, "warn">;
  /** Called once when the stream stops, however it stops. */
  onStop: () => void;
}

/**
 * The event stream of `job`: the opening events, then one batch per change the watcher sees, until
 * `end`. A client that goes away destroys the stream, which stops its watch and heartbeat; a watcher
 * that closes (the server shutting down) or a failing store ends it without `end`, and the client
 * reconnects with `Last-Event-ID`.
 */
export function openJobEventStream(job: Job, lastEventId: string | undefined, deps: JobEventStreamDeps): Readable {
  const stop = new AbortController();
  const stream = new Readable({
    read() {},
    destroy(err, callback) {
      stop.abort();
      callback(err);
    },
  });
  const send = (text: string | null) => {
    if (!stream.destroyed) stream.push(text);
  };
  const heartbeat = setInterval(() => send(HEARTBEAT), deps.heartbeatMs);
  const pump = async () => {
    const opening = openingEvents(job, lastEventId);
    // Node sends the headers with the first bytes: a resumed stream with nothing new starts with a comment.
    if (opening.length === 0) send(HEARTBEAT);
    for (const event of opening) send(formatEvent(event));
    if (isFinished(job.status)) return;
    let previous = job;
    for await (const current of deps.watcher.changes(job, stop.signal)) {
      for (const event of changeEvents(previous, current)) send(formatEvent(event));
      if (isFinished(current.status)) return;
      previous = current;
    }
  };
  void pump()
    .catch((err: unknown) => deps.log.warn({ err, jobId: job.id }, "job event stream stopped: the job store failed"))
    .finally(() => {
      clearInterval(heartbeat);
      deps.onStop();
      send(null);
    });
  return stream;
}
