// A Server-Sent Events parser for a fetch() body: EventSource cannot send an Authorization header.
// It follows the WHATWG "event stream interpretation": lines end in CRLF, LF or CR; ":" starts a
// comment; an event is dispatched at a blank line, and only if it has data.

/** Yields `{ type, data, id }` for each event of `body` (a ReadableStream of bytes). */
export async function* readEvents(body, state = { lastEventId: "" }) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = createParser(state);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield* parser.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}

/** The parser behind {@link readEvents}: `push(text)` returns the events the text completes. */
export function createParser(state = { lastEventId: "" }) {
  let pending = "";
  let type = "";
  let data = [];
  const line = (text, events) => {
    if (text === "") {
      if (data.length > 0) events.push({ type: type || "message", data: data.join("\n"), id: state.lastEventId });
      type = "";
      data = [];
      return;
    }
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
    else if (field === "id" && !value.includes("\0")) state.lastEventId = value;
  };
  return {
    push(text) {
      pending += text;
      // A CR at the very end may be the first half of a CRLF: keep it until the next chunk.
      const cut = pending.endsWith("\r") ? pending.length - 1 : pending.length;
      const lines = pending.slice(0, cut).split(/\r\n|\r|\n/);
      pending = lines.pop() + pending.slice(cut);
      const events = [];
      for (const text of lines) line(text, events);
      return events;
    },
  };
}
