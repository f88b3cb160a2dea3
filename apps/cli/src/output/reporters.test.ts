import { describe, expect, it } from "vitest";
import type { FileOutcome } from "../file-runner.js";
import type { InputFile } from "../inputs.js";
import { createJsonReporter } from "./json-reporter.js";
import { ansi } from "./paint.js";
import { createPlainReporter } from "./plain-reporter.js";
import type { OutputStream, Reporter, RunSummary } from "./reporter.js";
import { createTtyReporter } from "./tty-reporter.js";

const files: InputFile[] = [
  { path: "/in/a.png", label: "in/a.png", outputDir: "" },
  { path: "/in/bad.png", label: "in/bad.png", outputDir: "" },
];
const outcomes: FileOutcome[] = [
  {
    file: "in/a.png",
    status: "succeeded",
    output: "out/a.upscale.png",
    input: { width: 40, height: 30, format: "png", bytes: 2560 },
    result: { width: 160, height: 120, format: "png", bytes: 43_700 },
    ms: 440,
    error: null,
  },
  {
    file: "in/bad.png",
    status: "failed",
    output: null,
    input: null,
    result: null,
    ms: 3,
    error: { code: "UNSUPPORTED_IMAGE", message: "Expected a png image" },
  },
];
const summary: RunSummary = {
  op: "upscale",
  outcomes,
  skipped: [{ label: "in/notes.txt", reason: "not an image" }],
  ms: 1234,
};

function capture(isTTY: boolean): OutputStream & { text(): string } {
  let text = "";
  return { isTTY, columns: 100, write: (s: string) => (text += s), text: () => text };
}

function play(reporter: Reporter): void {
  reporter.begin(files);
  reporter.fileStarted(files[0]!);
  reporter.fileStarted(files[1]!);
  reporter.fileProgress(files[0]!, 0.5);
  reporter.fileFinished(files[1]!, outcomes[1]!);
  reporter.fileFinished(files[0]!, outcomes[0]!);
  reporter.end(summary);
}

// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[/;

describe("plain reporter", () => {
  it("prints one line per finished file, then the summary table, with no escapes", () => {
    const out = capture(false);
    play(createPlainReporter(out));
    const lines = out.text().split("\n");
    expect(lines[0]).toBe("failed in/bad.png UNSUPPORTED_IMAGE: Expected a png image");
    expect(lines[1]).toBe("succeeded in/a.png → out/a.upscale.png (40×30 → 160×120, 440 ms)");
    expect(lines).toContain("in/a.png      succeeded  40×30 → 160×120  2.56 kB → 43.7 kB  440 ms");
    expect(lines).toContain("in/bad.png    failed                                         3 ms    UNSUPPORTED_IMAGE");
    expect(lines).toContain("in/notes.txt  skipped");
    expect(lines).toContain("upscale: 1 succeeded, 1 failed, 1 skipped in 1.2 s");
    expect(out.text()).not.toMatch(ANSI_ESCAPE);
  });
});

describe("terminal reporter", () => {
  it("draws an overall bar and a bar per running file, then the coloured summary", () => {
    const out = capture(true);
    play(createTtyReporter(out, ansi));
    const text = out.text();
    expect(text).toMatch(/0\/2 files/);
    expect(text).toMatch(/ 50% \| a\.png/);
    expect(text).toMatch(/2\/2 files, 1 failed/);
    expect(text).toContain("\x1b[31mfailed in/bad.png UNSUPPORTED_IMAGE: Expected a png image\x1b[39m");
    expect(text).toContain("\x1b[32min/a.png      succeeded");
    expect(text).toContain("upscale: 1 succeeded, 1 failed, 1 skipped in 1.2 s");
  });
});

describe("json reporter", () => {
  it("writes one JSON document with every outcome", () => {
    const out = capture(false);
    play(createJsonReporter(out));
    expect(JSON.parse(out.text())).toEqual({ ...summary, ms: 1234 });
  });
});
