import { Gauge, Registry, type Metric } from "prom-client";
import type { EmbeddedWorker, WorkerMetrics } from "./embedded-worker.js";
import type { MetricsSource } from "./metrics-app.js";

/** The label every sample of the embedded worker carries on the API's `/metrics`. */
const EMBEDDED_WORKER_LABELS = { component: "embedded-worker" } as const;

/** How long a scrape waits for the worker's answer (its event loop is free of inference, so this is slack). */
const WORKER_METRICS_TIMEOUT_MS = 2000;

/**
 * `/metrics` of `npm start`: the API's registry and its embedded worker's in one answer, so one
 * scrape target shows the jobs (`worker_*`) as well as the requests (`api_*`). The worker's samples
 * carry `component="embedded-worker"`, which keeps its `process_*` and `nodejs_*` samples apart from
 * the API's of the same names. `api_embedded_worker_up` is 1 when the worker answered this scrape
 * and 0 when it did not (exited, or slower than the timeout); the API's own metrics are served either way.
 */
export function withEmbeddedWorkerMetrics(
  registry: Registry,
  worker: Pick<EmbeddedWorker, "metrics">,
  timeoutMs = WORKER_METRICS_TIMEOUT_MS,
): MetricsSource {
  const up = new Gauge({
    name: "api_embedded_worker_up",
    help: "1 when the embedded worker answered this scrape with its metrics, else 0",
    registers: [registry],
  });
  return {
    contentType: registry.contentType,
    async metrics() {
      const child = await worker.metrics(timeoutMs);
      up.set(child ? 1 : 0);
      if (!child) return registry.metrics();
      return mergedRegistry(await registry.getMetricsAsJSON(), labelled(child, EMBEDDED_WORKER_LABELS)).metrics();
    },
  };
}

function labelled(metrics: WorkerMetrics, labels: Record<string, string>): WorkerMetrics {
  return metrics.map((family) => ({
    ...family,
    values: family.values.map((value) => ({ ...value, labels: { ...value.labels, ...labels } })),
  }));
}

/**
 * One registry holding the families of `first` and `second` (prom-client's JSON form); a family in
 * both keeps the help and type of `first`, and its samples are those of both, `first`'s first.
 */
export function mergedRegistry(first: WorkerMetrics, second: WorkerMetrics): Registry {
  const families = new Map<string, WorkerMetrics[number]>();
  for (const family of [...first, ...second]) {
    const seen = families.get(family.name);
    if (seen) seen.values.push(...family.values);
    else families.set(family.name, { ...family, values: [...family.values] });
  }
  const merged = new Registry();
  for (const family of families.values()) {
    // A registry renders anything with a name and a get() returning this form; prom-client's own
    // cluster aggregation (AggregatorRegistry.aggregate) registers the same kind of wrapper.
    merged.registerMetric({ ...family, get: () => Promise.resolve(family) } as unknown as Metric);
  }
  return merged;
}
