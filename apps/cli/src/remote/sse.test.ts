import { describe, expect, it } from "vitest";
import { parseSse, type SseEvent } from "./sse.js";

async function parse(...chunks: string[]): Promise<SseEvent[]> {
  const encoder = new TextEncoder();
  async function* body() {
    for (const chunk of chunks) yield encoder.encode(chunk);
  }
  const events: SseEvent[] = [];
  for await (const event of parseSse(body())) events.push(event);
  return events;
}

describe("parseSse", () => {
  it("reads named events with ids and JSON data", async () => {
    const events = await parse(
      'id: 1\nevent: status\ndata: {"status":"queued"}\n\nid: 2\nevent: progress\ndata: {"progress":0.5}\n\n',
    );
    expect(events).toEqual([
      { event: "status", data: '{"status":"queued"}', id: "1", retryMs: undefined },
      { event: "progress", data: '{"progress":0.5}', id: "2", retryMs: undefined },
    ]);
  });

  it("joins events split anywhere across chunks, with LF, CRLF or CR line ends", async () => {
    const events = await parse(
      "event: sta",
      "tus\r",
      "\ndata: a\r\n\r",
      "\nevent: end\rdata: b\r\r",
      "data: c\n",
      "\n",
    );
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ["status", "a"],
      ["end", "b"],
      ["message", "c"],
    ]);
  });

  it("skips comments and joins data lines; an event without data is not dispatched", async () => {
    const events = await parse(": keep-alive\n\nevent: ping\n\ndata: one\ndata:two\ndata\n\n");
    expect(events).toEqual([{ event: "message", data: "one\ntwo\n", id: undefined, retryMs: undefined }]);
  });

  it("reads retry, and drops an event the stream cut off", async () => {
    const events = await parse("retry: 1500\ndata: x\n\nevent: end\ndata: {");
    expect(events).toEqual([{ event: "message", data: "x", id: undefined, retryMs: 1500 }]);
  });
});
