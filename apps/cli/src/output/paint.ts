/** Text styles of the output; a plain painter leaves text as it is. */
export type Style = "ok" | "bad" | "dim" | "bold";

export type Paint = (style: Style, text: string) => string;

const ANSI: Record<Style, [string, string]> = {
  ok: ["\x1b[32m", "\x1b[39m"],
  bad: ["\x1b[31m", "\x1b[39m"],
  dim: ["\x1b[2m", "\x1b[22m"],
  bold: ["\x1b[1m", "\x1b[22m"],
};

export const plain: Paint = (_style, text) => text;

export const ansi: Paint = (style, text) => (text === "" ? text : `${ANSI[style][0]}${text}${ANSI[style][1]}`);
