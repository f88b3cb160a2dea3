import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JobView } from "@imagen/core";
import { afterEach, describe, expect, it } from "vitest";
import { createApiClient } from "./api-client.js";
import { followJob } from "./follow-job.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function job(status: string, progress: number): Partial<JobView> {
  return { id: "j1", status: status as JobView["status"], progress, output: null, error: null };
}

function sse(res: ServerResponse, events: [string, unknown, number?][], end: boolean): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  for (const [event, data, id] of events) {
    res.write(`${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
  // A dropped connection: the events so far reach the client, then the socket closes mid-response.
  if (end) res.end();
  else res.write(": bye\n", () => setTimeout(() => res.destroy(), 20));
}

describe("followJob", () => {
  let server: Server;
  const requests: { url: string; lastEventId: string | undefined; auth: string | undefined }[] = [];

  async function serve(handler: Handler): Promise<string> {
    server = createServer((req, res) => {
      requests.push({
        url: req.url ?? "",
        lastEventId: req.headers["last-event-id"] as string | undefined,
        auth: req.headers.authorization,
      });
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  afterEach(async () => {
    requests.length = 0;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const follow = (url: string, progress: number[] = []) =>
    followJob(createApiClient({ url, key: "k1" }), "j1", {
      signal: AbortSignal.timeout(10_000),
      onProgress: (p) => progress.push(p),
      pollIntervalMs: 10,
      reconnectDelayMs: 10,
    });

  it("reports progress from the events and returns the job of the final end event", async () => {
    const url = await serve((_req, res) =>
      sse(
        res,
        [
          ["status", job("running", 0.1), 1],
          ["progress", { progress: 0.5 }, 2],
          ["end", job("succeeded", 1), 3],
        ],
        true,
      ),
    );
    const progress: number[] = [];
    expect(await follow(url, progress)).toMatchObject({ status: "succeeded" });
    expect(progress).toEqual([0.1, 0.5, 1]);
    expect(requests).toEqual([{ url: "/v1/jobs/j1/events", lastEventId: undefined, auth: "Bearer k1" }]);
  });

  it("reopens a dropped stream with Last-Event-ID", async () => {
    let connections = 0;
    const url = await serve((_req, res) => {
      connections += 1;
      if (connections === 1) sse(res, [["status", job("running", 0.2), 7]], false);
      else
        sse(
          res,
          [
            ["status", job("running", 0.6), 8],
            ["end", job("failed", 0.6), 9],
          ],
          true,
        );
    });
    expect(await follow(url)).toMatchObject({ status: "failed" });
    expect(requests.map((r) => r.lastEventId)).toEqual([undefined, "7"]);
  });

  it("polls the job when the API has no events route", async () => {
    let polls = 0;
    const url = await serve((req, res) => {
      if (req.url?.endsWith("/events")) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "NOT_FOUND", message: "No route" } }));
        return;
      }
      polls += 1;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(polls < 3 ? job("running", polls / 3) : job("succeeded", 1)));
    });
    const progress: number[] = [];
    expect(await follow(url, progress)).toMatchObject({ status: "succeeded" });
    expect(progress).toEqual([1 / 3, 2 / 3, 1]);
    expect(requests.map((r) => r.url)).toEqual(["/v1/jobs/j1/events", "/v1/jobs/j1", "/v1/jobs/j1", "/v1/jobs/j1"]);
  });

  it("fails with the API's code when the stream is refused", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "UNAUTHENTICATED", message: "Invalid API key" } }));
    });
    await expect(follow(url)).rejects.toMatchObject({ code: "UNAUTHENTICATED", message: "Invalid API key" });
  });
});
