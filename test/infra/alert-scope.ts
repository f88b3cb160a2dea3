import { asArray, at, read, type Doc } from "./files.js";

/**
 * Managed Prometheus's rule objects and the labels they add to every query: a namespaced `Rules`
 * object matches only series of its project, location, cluster and namespace; `ClusterRules` of its
 * cluster; `GlobalRules` adds nothing. A series without one of those labels never matches, so the
 * alert can never fire.
 */
export const SCOPE_LABELS: Record<string, string[]> = {
  Rules: ["project_id", "location", "cluster", "namespace"],
  ClusterRules: ["project_id", "location", "cluster"],
  GlobalRules: [],
};

/** Labels Managed Prometheus puts on every series it scrapes through a PodMonitoring. */
const SCRAPE_TARGET_LABELS = ["project_id", "location", "cluster", "namespace", "job", "instance"];

/** Cloud Monitoring metrics read through PromQL carry their monitored resource's labels instead. */
const CLOUD_METRICS: { prefix: string; labels: string[] }[] = [
  { prefix: "pubsub_googleapis_com:subscription_", labels: ["project_id", "subscription_id"] },
  {
    prefix: "kubernetes_io:container_",
    labels: ["project_id", "location", "cluster_name", "namespace_name", "pod_name", "container_name"],
  },
];

const METRIC_SOURCES = ["apps/worker/src/metrics.ts", "apps/api/src/http-metrics.ts"];

/** The prom-client metrics of the code: name → its labels (histograms also as _bucket/_sum/_count). */
export function codeMetrics(): Map<string, string[]> {
  const metrics = new Map<string, string[]>();
  for (const source of METRIC_SOURCES) {
    // One `new Counter({ … })` (Gauge, Histogram, Summary) at a time: its name and its labelNames, if any.
    for (const block of read(source)
      .split(/new (?:Counter|Gauge|Histogram|Summary)\(/)
      .slice(1)) {
      const name = /^\s*\{\s*name: "(\w+)"/.exec(block)?.[1];
      if (!name) continue;
      const body = block.slice(0, block.indexOf("})"));
      const labels = [...(/labelNames: \[([^\]]*)\]/.exec(body)?.[1]?.matchAll(/"(\w+)"/g) ?? [])].map((m) => m[1]!);
      metrics.set(name, labels);
      for (const suffix of ["_bucket", "_sum", "_count"]) metrics.set(`${name}${suffix}`, [...labels, "le"]);
    }
  }
  return metrics;
}

/** Every label a series of `metric` carries when a rule reads it, or undefined for an unknown metric. */
export function metricLabels(metric: string, code = codeMetrics()): string[] | undefined {
  const own = code.get(metric);
  if (own) return [...SCRAPE_TARGET_LABELS, ...own];
  const cloud = CLOUD_METRICS.find(({ prefix }) => metric.startsWith(prefix));
  return cloud && [...cloud.labels, "monitored_resource"];
}

/** The selectors of a PromQL expression (`name{matchers}`), with the label names they match on. */
export function selectorsOf(expr: string): { metric: string; matchers: string[] }[] {
  return [...expr.matchAll(/([A-Za-z_:][\w:]*)\s*\{([^}]*)\}/g)].map((m) => ({
    metric: m[1]!,
    matchers: [...m[2]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!),
  }));
}

/** Labels named in `by (…)` / `without (…)` clauses. */
function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
    m[1]!
      .split(",")
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

/**
 * Why an alert of a rule object can never fire, one line each: a metric nobody exports, a metric
 * without a label the object's scope adds, a matcher or grouping on a label the metric lacks.
 */
export function alertProblems(object: Doc, code = codeMetrics()): string[] {
  const kind = String(object.kind);
  const scope = SCOPE_LABELS[kind];
  if (!scope) return [`${kind} is not a Managed Prometheus rule kind`];
  const rules = asArray(at(object, "spec", "groups")).flatMap((group) => asArray(at(group, "rules")));
  return rules.flatMap((rule) => {
    const name = String(at(rule, "alert") ?? at(rule, "record"));
    const expr = String(at(rule, "expr"));
    const selectors = selectorsOf(expr);
    if (selectors.length === 0) return [`${name}: no selector with {…} to check`];
    const problems: string[] = [];
    const carried = new Set<string>();
    for (const { metric, matchers } of selectors) {
      const labels = metricLabels(metric, code);
      if (!labels) {
        problems.push(`${name}: ${metric} is neither a metric of the code nor a known Cloud Monitoring metric`);
        continue;
      }
      labels.forEach((l) => carried.add(l));
      const unscoped = scope.filter((l) => !labels.includes(l));
      if (unscoped.length > 0) {
        problems.push(`${name}: ${metric} lacks ${unscoped.join(", ")}, which a ${kind} object adds to its query`);
      }
      const unknown = matchers.filter((l) => !labels.includes(l));
      if (unknown.length > 0) problems.push(`${name}: ${metric} has no label ${unknown.join(", ")} to match on`);
    }
    const ungrouped = groupingLabels(expr).filter((l) => !carried.has(l));
    if (ungrouped.length > 0) problems.push(`${name}: groups by ${ungrouped.join(", ")}, which no series carries`);
    return problems;
  });
}
