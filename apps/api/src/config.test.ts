import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CONFIG_SOURCES, readEnvExample } from "@imagen/testing/stack";
import { afterAll, describe, expect, it } from "vitest";
import { loadApiConfig } from "./config.js";

describe("loadApiConfig", () => {
  it("listens on 8080 without an embedded worker by default", () => {
    const config = loadApiConfig({});
    expect(config.port).toBe(8080);
    expect(config.embeddedWorker).toBe(false);
    expect(config.limits.maxUploadBytes).toBe(25 * 1024 * 1024);
    expect(config.backend).toMatchObject({ kind: "local", dataDir: expect.stringMatching(/\.imagen$/) as unknown });
  });

  it("reads booleans strictly", () => {
    expect(loadApiConfig({ IMAGEN_EMBEDDED_WORKER: "true" }).embeddedWorker).toBe(true);
    expect(() => loadApiConfig({ IMAGEN_EMBEDDED_WORKER: "yes" })).toThrow(/IMAGEN_EMBEDDED_WORKER/);
  });

  it("names a bad port and a bad limit", () => {
    expect(() => loadApiConfig({ PORT: "80a", MAX_UPLOAD_BYTES: "-1" })).toThrow(/PORT[\s\S]*MAX_UPLOAD_BYTES/);
  });

  it("accepts what npm start sets", () => {
    const start = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      scripts: Record<string, string>;
    };
    const assignments = Object.fromEntries(
      [...(start.scripts.start ?? "").matchAll(/(\w+)=(\S+)/g)].map((m): [string, string] => [m[1] ?? "", m[2] ?? ""]),
    );
    expect(assignments).toHaveProperty("IMAGEN_EMBEDDED_WORKER", "true");
    expect(loadApiConfig(assignments).embeddedWorker).toBe(true);
  });
});

describe("loadApiConfig: the HTTP edge", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "imagen-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = (text: string) => {
    const file = path.join(dir, `keys-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, text);
    return file;
  };
  const hex = (secret: string) => createHash("sha256").update(secret).digest("hex");

  it("runs without keys, listening on 127.0.0.1 only, unless HOST says otherwise", () => {
    expect(loadApiConfig({})).toMatchObject({ apiKeys: [], host: "127.0.0.1" });
    expect(loadApiConfig({ HOST: "0.0.0.0" }).host).toBe("0.0.0.0");
  });

  it("with keys, listens on every interface by default", () => {
    expect(loadApiConfig({ IMAGEN_API_KEYS: "alice:a-secret" }).host).toBe("0.0.0.0");
    expect(loadApiConfig({ IMAGEN_API_KEYS: "alice:a-secret", HOST: "127.0.0.1" }).host).toBe("127.0.0.1");
  });

  it("reads keys from IMAGEN_API_KEYS, plain or hashed", () => {
    const { apiKeys } = loadApiConfig({ IMAGEN_API_KEYS: `alice:a-secret,bob:sha256:${hex("b-secret")}` });
    expect(apiKeys.map((k) => [k.name, k.sha256.toString("hex")])).toEqual([
      ["alice", hex("a-secret")],
      ["bob", hex("b-secret")],
    ]);
  });

  it("reads keys from IMAGEN_API_KEYS_FILE, one a line, with comments", () => {
    const file = keyFile(`# rotated 2024-05\nalice:a-secret\n\nbob:sha256:${hex("b-secret")}\n`);
    expect(loadApiConfig({ IMAGEN_API_KEYS_FILE: file }).apiKeys.map((k) => k.name)).toEqual(["alice", "bob"]);
  });

  it("has edge defaults: rate limit, timeouts, no CORS, metrics on the API port, quotas, strict webhooks", () => {
    expect(loadApiConfig({})).toMatchObject({
      rateLimitPerMin: 600,
      timeouts: { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000 },
      overload: { maxEventLoopDelayMs: 1000, maxRssBytes: 0, sampleIntervalMs: 1000, retryAfterS: 10 },
      corsOrigins: [],
      metricsPort: undefined,
      quotas: { maxActiveJobsPerKey: 100, maxQueuedJobs: 1000 },
      webhooks: { allowHttp: false, allowPrivate: false },
    });
    expect(loadApiConfig({}).overload.maxHeapUsedBytes).toBeGreaterThan(0);
  });

  it("reads every edge variable", () => {
    const config = loadApiConfig({
      RATE_LIMIT_PER_MIN: "0",
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: "0",
      OVERLOAD_MAX_HEAP_USED_BYTES: "1000000",
      OVERLOAD_MAX_RSS_BYTES: "2000000",
      OVERLOAD_SAMPLE_INTERVAL_MS: "50",
      OVERLOAD_RETRY_AFTER_S: "3",
      REQUEST_TIMEOUT_MS: "2000",
      HEADERS_TIMEOUT_MS: "1000",
      KEEP_ALIVE_TIMEOUT_MS: "500",
      CORS_ORIGINS: "https://app.example.com, http://localhost:5173",
      METRICS_PORT: "9464",
      MAX_ACTIVE_JOBS_PER_KEY: "0",
      MAX_QUEUED_JOBS: "5",
      IMAGEN_WEBHOOK_ALLOW_HTTP: "true",
      IMAGEN_WEBHOOK_ALLOW_PRIVATE: "1",
    });
    expect(config).toMatchObject({
      rateLimitPerMin: 0,
      overload: {
        maxEventLoopDelayMs: 0,
        maxHeapUsedBytes: 1_000_000,
        maxRssBytes: 2_000_000,
        sampleIntervalMs: 50,
        retryAfterS: 3,
      },
      timeouts: { requestTimeoutMs: 2000, headersTimeoutMs: 1000, keepAliveTimeoutMs: 500 },
      corsOrigins: ["https://app.example.com", "http://localhost:5173"],
      metricsPort: 9464,
      quotas: { maxActiveJobsPerKey: 0, maxQueuedJobs: 5 },
      webhooks: { allowHttp: true, allowPrivate: true },
    });
  });

  it.each([
    [
      "both key variables",
      { IMAGEN_API_KEYS: "a:x-secret", IMAGEN_API_KEYS_FILE: "/k" },
      /IMAGEN_API_KEYS and IMAGEN_API_KEYS_FILE are both set/,
    ],
    [
      "a duplicate key name",
      { IMAGEN_API_KEYS: "a:one-secret,a:two-secret" },
      /IMAGEN_API_KEYS: entry 2: the key name "a" is also used by entry 1/,
    ],
    [
      "a bad key entry",
      { IMAGEN_API_KEYS: "a:ok-secret,no-colon-secret" },
      /IMAGEN_API_KEYS: entry 2: expected name:secret/,
    ],
    ["a key list of commas only", { IMAGEN_API_KEYS: "," }, /IMAGEN_API_KEYS: entry 1: expected/],
    [
      "a missing key file",
      { IMAGEN_API_KEYS_FILE: "/nonexistent/keys" },
      /IMAGEN_API_KEYS_FILE: cannot read \/nonexistent\/keys \(ENOENT\)/,
    ],
    ["a negative RATE_LIMIT_PER_MIN", { RATE_LIMIT_PER_MIN: "-1" }, /RATE_LIMIT_PER_MIN: expected an integer/],
    [
      "a bad OVERLOAD_MAX_EVENT_LOOP_DELAY_MS",
      { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: "1s" },
      /OVERLOAD_MAX_EVENT_LOOP_DELAY_MS/,
    ],
    ["a bad OVERLOAD_MAX_HEAP_USED_BYTES", { OVERLOAD_MAX_HEAP_USED_BYTES: "1e9" }, /OVERLOAD_MAX_HEAP_USED_BYTES/],
    ["a bad OVERLOAD_MAX_RSS_BYTES", { OVERLOAD_MAX_RSS_BYTES: "-5" }, /OVERLOAD_MAX_RSS_BYTES/],
    ["a too short OVERLOAD_SAMPLE_INTERVAL_MS", { OVERLOAD_SAMPLE_INTERVAL_MS: "1" }, /OVERLOAD_SAMPLE_INTERVAL_MS/],
    ["a zero OVERLOAD_RETRY_AFTER_S", { OVERLOAD_RETRY_AFTER_S: "0" }, /OVERLOAD_RETRY_AFTER_S/],
    ["a zero REQUEST_TIMEOUT_MS", { REQUEST_TIMEOUT_MS: "0" }, /REQUEST_TIMEOUT_MS: expected an integer/],
    ["a bad HEADERS_TIMEOUT_MS", { HEADERS_TIMEOUT_MS: "ten" }, /HEADERS_TIMEOUT_MS: expected an integer/],
    [
      "HEADERS_TIMEOUT_MS over REQUEST_TIMEOUT_MS",
      { REQUEST_TIMEOUT_MS: "1000", HEADERS_TIMEOUT_MS: "2000" },
      /HEADERS_TIMEOUT_MS: expected at most REQUEST_TIMEOUT_MS \(1000\)/,
    ],
    ["a bad KEEP_ALIVE_TIMEOUT_MS", { KEEP_ALIVE_TIMEOUT_MS: "-1" }, /KEEP_ALIVE_TIMEOUT_MS/],
    [
      "a CORS origin with a path",
      { CORS_ORIGINS: "https://ok.example.com,https://app.example.com/x" },
      /CORS_ORIGINS: .* but received "https:\/\/app.example.com\/x"/,
    ],
    ["a CORS wildcard", { CORS_ORIGINS: "*" }, /CORS_ORIGINS/],
    ["a bad METRICS_PORT", { METRICS_PORT: "70000" }, /METRICS_PORT: expected an integer in 0..65535/],
    [
      "METRICS_PORT equal to PORT",
      { PORT: "8080", METRICS_PORT: "8080" },
      /METRICS_PORT: expected a port other than PORT \(8080\)/,
    ],
    ["a negative MAX_ACTIVE_JOBS_PER_KEY", { MAX_ACTIVE_JOBS_PER_KEY: "-1" }, /MAX_ACTIVE_JOBS_PER_KEY/],
    ["a bad MAX_QUEUED_JOBS", { MAX_QUEUED_JOBS: "lots" }, /MAX_QUEUED_JOBS/],
    ["a loose IMAGEN_WEBHOOK_ALLOW_HTTP", { IMAGEN_WEBHOOK_ALLOW_HTTP: "yes" }, /IMAGEN_WEBHOOK_ALLOW_HTTP/],
    ["a loose IMAGEN_WEBHOOK_ALLOW_PRIVATE", { IMAGEN_WEBHOOK_ALLOW_PRIVATE: "on" }, /IMAGEN_WEBHOOK_ALLOW_PRIVATE/],
  ])("refuses %s", (_case, env: Record<string, string>, message) => {
    expect(() => loadApiConfig(env)).toThrow(message);
  });

  it("never puts a secret of a bad key file in its message", () => {
    const file = keyFile("alice:good-secret\nthe-secret-of-bob\n");
    expect(() => loadApiConfig({ IMAGEN_API_KEYS_FILE: file })).toThrow(/IMAGEN_API_KEYS_FILE: line 2: expected/);
    expect(() => loadApiConfig({ IMAGEN_API_KEYS_FILE: file })).not.toThrow(/the-secret-of-bob/);
  });
});

describe(".env.example", () => {
  // The worker's own config test reads the same file with its loader.
  it("lists every variable with a value the API accepts, and every variable either app reads", () => {
    const { text, env } = readEnvExample();
    expect(loadApiConfig(env)).toMatchObject({ port: 8080, host: "127.0.0.1", embeddedWorker: false, apiKeys: [] });
    const documented = new Set(text.match(/^#? ?[A-Z][A-Z0-9_]+(?==)/gm)?.map((name) => name.replace(/^# ?/, "")));
    const read = CONFIG_SOURCES.flatMap((file) =>
      [...readFileSync(new URL(`../../../${file}`, import.meta.url), "utf8").matchAll(/\(\s*"([A-Z][A-Z0-9_]+)"/g)].map(
        (m) => m[1],
      ),
    );
    expect(read.filter((name) => !documented.has(name ?? ""))).toEqual([]);
  });
});
