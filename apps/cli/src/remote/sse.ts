/** One Server-Sent Event: its type (`message` when unnamed), data lines joined by `\n`, and id. */
export interface SseEvent {
  event: string;
  data: string;
  /** The event's `id`, or undefined when it had none. */
  id: string | undefined;
  /** A `retry` field: the reconnection delay the server asks for, in ms. */
  retryMs: number | undefined;
}

/**
 * Parses an `text/event-stream` body (the WHATWG rules: LF, CRLF or CR line ends, split anywhere
 * across chunks; `:` comments; one optional space after a field's colon; an event is dispatched at
 * a blank line, and only when it has data). A stream that ends mid-event drops that event.
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  let fields: { event: string; data: string[]; id: string | undefined; retryMs: number | undefined } = blank();
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let match: RegExpExecArray | null;
    // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
    while ((match = /\r\n|\r(?!$)|\n/.exec(buffer)) !== null) {
      const line = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      if (line !== "") {
        readField(fields, line);
        continue;
      }
      if (fields.data.length > 0) {
        yield {
          event: fields.event || "message",
          data: fields.data.join("\n"),
          id: fields.id,
          retryMs: fields.retryMs,
        };
      }
      fields = blank();
    }
  }
}

function blank() {
  return {
    event: "",
    data: [] as string[],
    id: undefined as string | undefined,
    retryMs: undefined as number | undefined,
  };
}

function readField(fields: ReturnType<typeof blank>, line: string): void {
  if (line.startsWith(":")) return;
  const colon = line.indexOf(":");
  const name = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? "" : line.slice(colon + 1);
  if (value.startsWith(" ")) value = value.slice(1);
  switch (name) {
    case "event":
      fields.event = value;
      break;
    case "data":
      fields.data.push(value);
      break;
    case "id":
      if (!value.includes("\0")) fields.id = value;
      break;
    case "retry":
      if (/^\d+$/.test(value)) fields.retryMs = Number(value);
      break;
  }
}
