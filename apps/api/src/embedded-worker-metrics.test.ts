import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { mergedRegistry, withEmbeddedWorkerMetrics } from "./embedded-worker-metrics.js";
import type { WorkerMetrics } from "./embedded-worker.js";

/** A registry like a process's: one family both processes have, and one of its own. */
function processRegistry(own: "api" | "worker"): Registry {
  const registry = new Registry();
  new Counter({ name: "process_cpu_seconds_total", help: "CPU", registers: [registry] }).inc(own === "api" ? 1 : 5);
  if (own === "api") {
    new Counter({ name: "api_jobs_created_total", help: "Jobs created", registers: [registry] }).inc(2);
  } else {
    const jobs = new Histogram({
      name: "worker_job_duration_seconds",
      help: "Job time",
      labelNames: ["op"],
      buckets: [1, 10],
      registers: [registry],
    });
    jobs.observe({ op: "comic" }, 0.5);
  }
  return registry;
}

/** The `# TYPE` lines of a Prometheus text, one per family. */
function typeLines(text: string): string[] {
  return text.split("\n").filter((line) => line.startsWith("# TYPE"));
}

describe("withEmbeddedWorkerMetrics", () => {
  it("serves the API's metrics and its worker's in one text, the worker's samples labelled", async () => {
    const api = processRegistry("api");
    const child = await processRegistry("worker").getMetricsAsJSON();
    const source = withEmbeddedWorkerMetrics(api, { metrics: () => Promise.resolve(child) });
    const text = await source.metrics();

    expect(source.contentType).toBe(api.contentType);
    expect(text).toContain("api_jobs_created_total 2\n");
    expect(text).toContain("api_embedded_worker_up 1\n");
    expect(text).toContain('worker_job_duration_seconds_bucket{le="1",op="comic",component="embedded-worker"} 1\n');
    expect(text).toContain('worker_job_duration_seconds_count{op="comic",component="embedded-worker"} 1\n');
    // A family both processes have is one family with a sample from each.
    expect(text).toContain('process_cpu_seconds_total 1\nprocess_cpu_seconds_total{component="embedded-worker"} 5\n');
    const types = typeLines(text);
    expect(new Set(types).size).toBe(types.length);
    expect(types).toContain("# TYPE process_cpu_seconds_total counter");
  });

  it("serves the API's own metrics, with up 0, when the worker does not answer", async () => {
    const api = processRegistry("api");
    let timeoutAsked = 0;
    const source = withEmbeddedWorkerMetrics(
      api,
      {
        metrics: (timeoutMs) => {
          timeoutAsked = timeoutMs;
          return Promise.resolve(null);
        },
      },
      750,
    );
    const text = await source.metrics();
    expect(timeoutAsked).toBe(750);
    expect(text).toContain("api_embedded_worker_up 0\n");
    expect(text).toContain("process_cpu_seconds_total 1\n");
    expect(text).not.toContain("embedded-worker");
  });
});

describe("mergedRegistry", () => {
  it("keeps the first's help and type for a family in both, and every family of each", async () => {
    const first: WorkerMetrics = await processRegistry("api").getMetricsAsJSON();
    const second: WorkerMetrics = (await processRegistry("worker").getMetricsAsJSON()).map((f) => ({
      ...f,
      help: `${f.help} (second)`,
    }));
    const text = await mergedRegistry(first, second).metrics();
    expect(text).toContain("# HELP process_cpu_seconds_total CPU\n");
    expect(text).not.toContain("CPU (second)");
    expect(text).toContain("# HELP worker_job_duration_seconds Job time (second)\n");
    expect(text).toContain("process_cpu_seconds_total 1\nprocess_cpu_seconds_total 5\n");
    expect(text).toContain("api_jobs_created_total 2\n");
  });
});
