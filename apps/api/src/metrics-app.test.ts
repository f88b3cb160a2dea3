import { createLogger } from "@imagen/core";
import { Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { buildMetricsApp, registryMetrics } from "./metrics-app.js";

describe("buildMetricsApp (METRICS_PORT)", () => {
  let close: () => Promise<void> = async () => {};
  afterEach(async () => {
    await close();
  });

  it("serves the registry on its own loopback port, and nothing else", async () => {
    const registry = new Registry();
    new Counter({ name: "api_test_total", help: "test", registers: [registry] }).inc(3);
    const app = await buildMetricsApp({
      source: registryMetrics(registry),
      log: createLogger({ service: "api-test", level: "silent" }),
    });
    close = () => app.close();
    await app.listen({ host: "127.0.0.1", port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    expect(await metrics.text()).toContain("api_test_total 3");
    const other = await fetch(`${base}/v1/ops`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
  });

  it("logs no line per scrape, and builds without a Fastify deprecation warning", async () => {
    const lines: string[] = [];
    const recording = createLogger({
      service: "api-test",
      level: "info",
      destination: { write: (line: string) => void lines.push(line) },
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on("warning", onWarning);
    try {
      const app = await buildMetricsApp({
        source: registryMetrics(new Registry()),
        log: recording,
      });
      close = () => app.close();
      for (let i = 0; i < 3; i++) expect((await app.inject({ url: "/metrics" })).statusCode).toBe(200);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    expect(lines).toEqual([]);
    expect(warnings.filter((w) => /^FSTDEP/.test((w as { code?: string }).code ?? ""))).toEqual([]);
  });
});
