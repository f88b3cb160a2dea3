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
});
