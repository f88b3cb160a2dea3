import { describe, expect, it } from "vitest";
import { alertProblems } from "./alert-scope.js";
import { asArray, asRecord, at, type Doc } from "./files.js";
import { isAllowed, missingEgress, podsOf, type PodRef } from "./network-policy.js";
import { DEPLOYED_DIRS, rendered } from "./render.js";
import { unwritablePaths } from "./writable-paths.js";

/**
 * Runtime policies over what `kustomize build` renders (what `make k8s-deploy-all` and `make kind-up`
 * apply). Each has a unit test on a minimal manifest with the bug it exists for, so a policy that
 * stopped catching it fails too.
 */
const deployed = DEPLOYED_DIRS.flatMap((dir) => rendered(dir));
const everything = [...deployed, ...rendered("k8s/local"), ...rendered("k8s/autoscaling/keda")];
const policies = deployed.filter((doc) => doc.kind === "NetworkPolicy");
const pods = podsOf(everything);
const worker: PodRef = { namespace: "imagen", labels: { "app.kubernetes.io/component": "worker" } };

/** The old policy: DNS only to pods of kube-system, which NodeLocal DNSCache's address never is. */
const DNS_TO_KUBE_SYSTEM_ONLY: Doc = {
  kind: "NetworkPolicy",
  metadata: { name: "worker-traffic", namespace: "imagen" },
  spec: {
    podSelector: { matchLabels: { "app.kubernetes.io/component": "worker" } },
    policyTypes: ["Egress"],
    egress: [
      {
        to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
        ports: [
          { protocol: "UDP", port: 53 },
          { protocol: "TCP", port: 53 },
        ],
      },
      { to: [{ ipBlock: { cidr: "169.254.169.254/32" } }], ports: [{ protocol: "TCP", port: 80 }] },
      { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
    ],
  },
};

describe("NetworkPolicies", () => {
  it("are rendered for the imagen namespace, with a default deny", () => {
    expect(policies.map((p) => at(p, "metadata", "name")).sort()).toEqual(["default-deny", "worker-traffic"]);
  });

  // The GKE pods under the GKE policies (the kind cluster of k8s/local has none).
  it.each(podsOf(deployed).map((p) => [p.name, p.pod] as const))(
    "%s can reach DNS (kube-dns and the node-local address), the metadata server and HTTPS",
    (_name, pod) => {
      expect(missingEgress(policies, pod)).toEqual([]);
    },
  );

  it("still deny what the workers never need: other ports, other pods", () => {
    const privateDb = { peer: { ip: "10.20.0.5" }, port: 5432, protocol: "TCP" } as const;
    expect(isAllowed(policies, worker, "Egress", privateDb)).toBe(false);
    const fromElsewhere = { peer: { pod: { namespace: "default", labels: {} } }, port: 8081, protocol: "TCP" } as const;
    expect(isAllowed(policies, worker, "Ingress", fromElsewhere)).toBe(false);
  });

  it("let Managed Prometheus scrape the workers' metrics port", () => {
    for (const namespace of ["gmp-system", "gke-gmp-system"]) {
      const scrape = { peer: { pod: { namespace, labels: {} } }, port: 8081, protocol: "TCP" } as const;
      expect(isAllowed(policies, worker, "Ingress", scrape), namespace).toBe(true);
    }
  });

  it("the check catches DNS allowed only to kube-system pods", () => {
    expect(missingEgress([DNS_TO_KUBE_SYSTEM_ONLY], worker)).toEqual([
      "DNS through NodeLocal DNSCache (169.254.20.10): 169.254.20.10 UDP/53",
      "DNS through NodeLocal DNSCache (169.254.20.10): 169.254.20.10 TCP/53",
      "DNS through the metadata server (Cloud DNS for GKE): 169.254.169.254 UDP/53",
      "DNS through the metadata server (Cloud DNS for GKE): 169.254.169.254 TCP/53",
      "the GKE metadata server (Workload Identity tokens): 169.254.169.252 TCP/988",
    ]);
  });
});

describe("read-only root filesystems", () => {
  it.each(pods.map((p) => [p.name, p.spec] as const))(
    "%s: every container is read-only and has a writable volume wherever its image writes",
    (_name, spec) => {
      for (const c of [...asArray(at(spec, "initContainers")), ...asArray(at(spec, "containers"))]) {
        expect(at(c, "securityContext", "readOnlyRootFilesystem"), String(at(c, "name"))).toBe(true);
      }
      expect(unwritablePaths(spec)).toEqual([]);
    },
  );

  it("the check catches the adapter without a writable certificate directory", () => {
    const adapter = {
      containers: [
        {
          name: "adapter",
          image: "gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.14.2-gke.0",
          command: ["/adapter", "--secure-port=8443"],
          securityContext: { readOnlyRootFilesystem: true },
        },
      ],
    };
    expect(unwritablePaths(adapter)).toEqual([
      expect.stringMatching(/^adapter writes \/apiserver\.local\.config\/certificates .* no writable volume/),
    ]);
  });

  it("the check catches a read-only mount, a missing /tmp and an image it knows nothing about", () => {
    const spec = {
      volumes: [{ name: "models", emptyDir: {} }],
      initContainers: [
        {
          name: "model-sync",
          image: "gcr.io/google.com/cloudsdktool/google-cloud-cli:525.0.0-slim",
          command: ["gcloud", "storage", "rsync", "gs://b/models", "/models"],
          env: [{ name: "CLOUDSDK_CONFIG", value: "/tmp/gcloud" }],
          securityContext: { readOnlyRootFilesystem: true },
          volumeMounts: [{ name: "models", mountPath: "/models", readOnly: true }],
        },
      ],
      containers: [
        { name: "worker", image: "r/imagen/worker:t", securityContext: { readOnlyRootFilesystem: true } },
        { name: "sidecar", image: "example/sidecar:1", securityContext: { readOnlyRootFilesystem: true } },
      ],
    };
    expect(unwritablePaths(spec).map((line) => line.split(" (")[0])).toEqual([
      "model-sync writes /tmp/gcloud",
      "model-sync writes /models",
      "worker writes /tmp",
      "sidecar: no entry for image example/sidecar:1 in IMAGE_WRITES",
    ]);
  });
});

const ruleObjects = deployed.filter((doc) => ["Rules", "ClusterRules", "GlobalRules"].includes(String(doc.kind)));
const alertOf = (kind: string, expr: string): Doc => ({
  kind,
  metadata: { name: "x", namespace: "imagen" },
  spec: { groups: [{ name: "g", rules: [{ alert: "A", expr }] }] },
});

describe("alert rules", () => {
  it("are the three alerts, each in a rule object whose scope its metrics satisfy", () => {
    const alerts = ruleObjects.flatMap((o) =>
      asArray(at(o, "spec", "groups")).flatMap((g) => asArray(at(g, "rules")).map((r) => at(r, "alert"))),
    );
    expect(alerts.sort()).toEqual([
      "ImagenJobFailureRatioHigh",
      "ImagenOldestUnackedMessageOld",
      "ImagenWorkerRestarting",
    ]);
    for (const object of ruleObjects) expect(alertProblems(object), String(at(object, "metadata", "name"))).toEqual([]);
  });

  it("cluster-scoped objects are rendered without a namespace (kustomize stamps unknown kinds)", () => {
    const clusterScoped = [
      "Namespace",
      "ClusterRole",
      "ClusterRoleBinding",
      "APIService",
      "ClusterRules",
      "GlobalRules",
    ];
    for (const doc of everything.filter((d) => clusterScoped.includes(String(d.kind)))) {
      expect(
        at(doc, "metadata", "namespace"),
        `${String(doc.kind)}/${String(at(doc, "metadata", "name"))}`,
      ).toBeUndefined();
    }
  });

  it("every namespaced object of k8s/workers names imagen itself (its kustomization sets no namespace)", () => {
    const clusterScoped = ["GlobalRules", "ClusterRules"];
    for (const doc of rendered("k8s/workers").filter((d) => !clusterScoped.includes(String(d.kind)))) {
      expect(at(doc, "metadata", "namespace"), `${String(doc.kind)}/${String(at(doc, "metadata", "name"))}`).toBe(
        "imagen",
      );
    }
  });

  it("the check catches Cloud Monitoring metrics in a namespaced Rules object", () => {
    const backlog =
      'max(pubsub_googleapis_com:subscription_oldest_unacked_message_age{subscription_id=~"imagen-.+-worker"}) > 900';
    const restarts = 'increase(kubernetes_io:container_restart_count{namespace_name="imagen"}[30m]) > 2';
    expect(alertProblems(alertOf("Rules", backlog))).toEqual([
      "A: pubsub_googleapis_com:subscription_oldest_unacked_message_age lacks location, cluster, namespace, which a Rules object adds to its query",
    ]);
    expect(alertProblems(alertOf("Rules", restarts))).toEqual([
      "A: kubernetes_io:container_restart_count lacks cluster, namespace, which a Rules object adds to its query",
    ]);
    expect(alertProblems(alertOf("GlobalRules", backlog))).toEqual([]);
    expect(alertProblems(alertOf("GlobalRules", restarts))).toEqual([]);
  });

  it("the check catches a metric nobody exports and a label a metric lacks", () => {
    expect(alertProblems(alertOf("Rules", 'sum by (op) (rate(worker_jobs_failed{op="x"}[5m]))'))).toEqual([
      "A: worker_jobs_failed is neither a metric of the code nor a known Cloud Monitoring metric",
      "A: groups by op, which no series carries",
    ]);
    expect(alertProblems(alertOf("Rules", 'rate(worker_jobs_total{namespace_name="imagen"}[5m])'))).toEqual([
      "A: worker_jobs_total has no label namespace_name to match on",
    ]);
  });
});

/** The container port (number) behind an APIService: its Service's targetPort, resolved on its pods. */
function apiServicePorts(objects: readonly Doc[]): { name: string; port: number | undefined }[] {
  return objects
    .filter((doc) => doc.kind === "APIService" && at(doc, "spec", "service") !== undefined)
    .map((api) => {
      const ref = at(api, "spec", "service");
      const service = objects.find(
        (d) =>
          d.kind === "Service" &&
          at(d, "metadata", "name") === at(ref, "name") &&
          at(d, "metadata", "namespace") === at(ref, "namespace"),
      );
      const servicePort = asArray(at(service, "spec", "ports")).find(
        (p) => at(p, "port") === ((at(ref, "port") as number | undefined) ?? 443),
      );
      const target = at(servicePort, "targetPort") ?? at(servicePort, "port");
      const selector = asRecord(at(service, "spec", "selector"));
      const backing = podsOf(objects).filter(
        ({ pod }) =>
          pod.namespace === at(ref, "namespace") && Object.entries(selector).every(([k, v]) => pod.labels[k] === v),
      );
      const containerPorts = backing.flatMap(({ spec }) =>
        asArray(at(spec, "containers")).flatMap((c) => asArray(at(c, "ports"))),
      );
      const port =
        typeof target === "number"
          ? target
          : (at(
              containerPorts.find((p) => at(p, "name") === target),
              "containerPort",
            ) as number | undefined);
      return { name: String(at(api, "metadata", "name")), port };
    });
}

/** A private cluster's control plane reaches node and pod addresses on these ports only. */
const CONTROL_PLANE_PORTS = [443, 10250];

describe("the custom metrics adapter", () => {
  it("serves each aggregated API on a port the private control plane can reach (443)", () => {
    const ports = apiServicePorts(deployed);
    expect(ports.map((p) => p.name).sort()).toEqual([
      "v1beta1.custom.metrics.k8s.io",
      "v1beta1.external.metrics.k8s.io",
      "v1beta2.custom.metrics.k8s.io",
    ]);
    for (const { name, port } of ports) expect(CONTROL_PLANE_PORTS, name).toContain(port);
  });

  it("listens where its Service points and may bind 443 as non-root", () => {
    const adapter = deployed.find(
      (d) => d.kind === "Deployment" && at(d, "metadata", "namespace") === "custom-metrics",
    );
    const pod = at(adapter, "spec", "template", "spec");
    const container = at(pod, "containers", 0);
    expect(at(container, "command")).toContain("--secure-port=443");
    expect(at(pod, "securityContext", "runAsNonRoot")).toBe(true);
    const start = asArray(at(pod, "securityContext", "sysctls")).find(
      (s) => at(s, "name") === "net.ipv4.ip_unprivileged_port_start",
    );
    expect(Number(at(start, "value"))).toBeLessThanOrEqual(443);
  });

  it("runs the upstream release line (v0.16)", () => {
    const images = deployed
      .flatMap((d) => asArray(at(d, "spec", "template", "spec", "containers")))
      .map((c) => String(at(c, "image")))
      .filter((image) => image.includes("custom-metrics-stackdriver-adapter"));
    expect(images).toEqual([expect.stringMatching(/:v0\.16\.\d+-gke\.\d+$/)]);
  });

  it("the check catches an adapter on 8443", () => {
    const objects: Doc[] = [
      {
        kind: "APIService",
        metadata: { name: "v1beta1.external.metrics.k8s.io" },
        spec: { service: { name: "a", namespace: "m" } },
      },
      {
        kind: "Service",
        metadata: { name: "a", namespace: "m" },
        spec: { selector: { app: "a" }, ports: [{ port: 443, targetPort: "https" }] },
      },
      {
        kind: "Deployment",
        metadata: { name: "a", namespace: "m" },
        spec: {
          template: {
            metadata: { labels: { app: "a" } },
            spec: { containers: [{ ports: [{ name: "https", containerPort: 8443 }] }] },
          },
        },
      },
    ];
    expect(apiServicePorts(objects)).toEqual([{ name: "v1beta1.external.metrics.k8s.io", port: 8443 }]);
  });
});

describe("Secrets", () => {
  it("every Secret a pod reads is optional (none is created here, and keys never appear in YAML)", () => {
    expect(deployed.filter((d) => d.kind === "Secret")).toEqual([]);
    for (const { name, spec } of pods) {
      for (const c of [...asArray(at(spec, "initContainers")), ...asArray(at(spec, "containers"))]) {
        const refs = [
          ...asArray(at(c, "envFrom")).map((e) => at(e, "secretRef")),
          ...asArray(at(c, "env")).map((e) => at(e, "valueFrom", "secretKeyRef")),
        ].filter((ref) => ref !== undefined);
        for (const ref of refs) expect(at(ref, "optional"), `${name} ${String(at(ref, "name"))}`).toBe(true);
      }
    }
  });

  it("the workers can take IMAGEN_WEBHOOK_SECRET from the optional imagen-worker-secrets", () => {
    const workers = pods.filter((p) => p.pod.labels["app.kubernetes.io/component"] === "worker");
    expect(workers).toHaveLength(4);
    for (const { spec } of workers) {
      expect(asArray(at(spec, "containers", 0, "envFrom"))).toContainEqual({
        secretRef: { name: "imagen-worker-secrets", optional: true },
      });
    }
  });
});
