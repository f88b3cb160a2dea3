import { asArray, asRecord, at, type Doc } from "./files.js";

/**
 * A small NetworkPolicy evaluator (the semantics of networking.k8s.io/v1): enough to ask whether a
 * pod may reach a destination, or be reached from a source, under the policies of its namespace.
 */

export type Labels = Record<string, string>;
export type Protocol = "TCP" | "UDP";

/** A pod, as a policy's podSelector and namespaceSelector see it. */
export interface PodRef {
  namespace: string;
  labels: Labels;
}

/** The other end of a connection: an address (ipBlock peers) or a pod (selector peers). */
export type Peer = { ip: string } | { pod: PodRef };

export interface Connection {
  peer: Peer;
  port: number;
  protocol: Protocol;
}

/** The labels every namespace carries (Kubernetes sets `kubernetes.io/metadata.name`). */
export function namespaceLabels(namespace: string): Labels {
  return { "kubernetes.io/metadata.name": namespace };
}

/** A label selector: `{}` selects everything; matchLabels and matchExpressions must all hold. */
export function selects(selector: unknown, labels: Labels): boolean {
  const matchLabels = asRecord(at(selector, "matchLabels"));
  if (Object.entries(matchLabels).some(([key, value]) => labels[key] !== value)) return false;
  return asArray(at(selector, "matchExpressions")).every((expression) => {
    const key = String(at(expression, "key"));
    const values = asArray(at(expression, "values")).map(String);
    switch (at(expression, "operator")) {
      case "In":
        return key in labels && values.includes(labels[key]!);
      case "NotIn":
        return !(key in labels) || !values.includes(labels[key]!);
      case "Exists":
        return key in labels;
      case "DoesNotExist":
        return !(key in labels);
      default:
        throw new Error(`unknown selector operator ${JSON.stringify(at(expression, "operator"))}`);
    }
  });
}

function ipToNumber(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`expected an IPv4 address but received ${ip}`);
  }
  return parts.reduce((n, p) => n * 256 + p, 0);
}

export function cidrContains(cidr: string, ip: string): boolean {
  const [base = "", bits = "32"] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipToNumber(base) / size) * size;
  const n = ipToNumber(ip);
  return n >= start && n < start + size;
}

function peerMatches(peer: unknown, policyNamespace: string, other: Peer): boolean {
  const ipBlock = at(peer, "ipBlock");
  if (ipBlock !== undefined) {
    if (!("ip" in other)) return false;
    const excepted = asArray(at(ipBlock, "except")).some((cidr) => cidrContains(String(cidr), other.ip));
    return cidrContains(String(at(ipBlock, "cidr")), other.ip) && !excepted;
  }
  if (!("pod" in other)) return false;
  const namespaceSelector = at(peer, "namespaceSelector");
  const podSelector = at(peer, "podSelector");
  const namespaceOk =
    namespaceSelector === undefined
      ? other.pod.namespace === policyNamespace
      : selects(namespaceSelector, namespaceLabels(other.pod.namespace));
  return namespaceOk && (podSelector === undefined || selects(podSelector, other.pod.labels));
}

function portMatches(ports: unknown, connection: Connection): boolean {
  const list = asArray(ports);
  if (list.length === 0) return true;
  return list.some((entry) => {
    const protocol = (at(entry, "protocol") as string | undefined) ?? "TCP";
    const port = at(entry, "port");
    const endPort = at(entry, "endPort");
    if (protocol !== connection.protocol) return false;
    if (port === undefined) return true;
    if (typeof port !== "number")
      throw new Error(`named port ${JSON.stringify(port)} is not supported by this evaluator`);
    return typeof endPort === "number"
      ? connection.port >= port && connection.port <= endPort
      : connection.port === port;
  });
}

function policyTypes(policy: Doc): string[] {
  const declared = asArray(at(policy, "spec", "policyTypes")).map(String);
  if (declared.length > 0) return declared;
  return at(policy, "spec", "egress") === undefined ? ["Ingress"] : ["Ingress", "Egress"];
}

/**
 * Whether the policies let `pod` open `connection` (egress) or accept it (ingress). A pod that no
 * policy of its namespace selects for that direction is unrestricted.
 */
export function isAllowed(
  policies: readonly Doc[],
  pod: PodRef,
  direction: "Egress" | "Ingress",
  connection: Connection,
): boolean {
  const applicable = policies.filter(
    (policy) =>
      policy.kind === "NetworkPolicy" &&
      at(policy, "metadata", "namespace") === pod.namespace &&
      selects(at(policy, "spec", "podSelector"), pod.labels) &&
      policyTypes(policy).includes(direction),
  );
  if (applicable.length === 0) return true;
  const rulesKey = direction === "Egress" ? "egress" : "ingress";
  const peersKey = direction === "Egress" ? "to" : "from";
  return applicable.some((policy) =>
    asArray(at(policy, "spec", rulesKey)).some((rule) => {
      const peers = asArray(at(rule, peersKey));
      const peerOk = peers.length === 0 || peers.some((peer) => peerMatches(peer, pod.namespace, connection.peer));
      return peerOk && portMatches(at(rule, "ports"), connection);
    }),
  );
}

const KUBE_DNS: PodRef = { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } };
const dns = (peer: Peer): Connection[] => [
  { peer, port: 53, protocol: "UDP" },
  { peer, port: 53, protocol: "TCP" },
];

/**
 * What every pod of ours must be able to reach on GKE Autopilot: DNS wherever GKE may answer it
 * (kube-dns pods; NodeLocal DNSCache, on by default in Autopilot, at a link-local address on the
 * host network; Cloud DNS through the metadata server), the metadata server itself (Workload
 * Identity tokens; 169.254.169.252:988 on Dataplane V2), and HTTPS to Google APIs and the internet.
 */
export const REQUIRED_EGRESS: { what: string; connections: Connection[] }[] = [
  { what: "DNS through the kube-dns Service (the kube-dns pods)", connections: dns({ pod: KUBE_DNS }) },
  { what: "DNS through NodeLocal DNSCache (169.254.20.10)", connections: dns({ ip: "169.254.20.10" }) },
  { what: "DNS through the metadata server (Cloud DNS for GKE)", connections: dns({ ip: "169.254.169.254" }) },
  {
    what: "the GKE metadata server (Workload Identity tokens)",
    connections: [
      { peer: { ip: "169.254.169.254" }, port: 80, protocol: "TCP" },
      { peer: { ip: "169.254.169.252" }, port: 988, protocol: "TCP" },
    ],
  },
  {
    what: "Google APIs (private.googleapis.com) and webhook receivers over HTTPS",
    connections: [
      { peer: { ip: "199.36.153.8" }, port: 443, protocol: "TCP" },
      { peer: { ip: "203.0.113.10" }, port: 443, protocol: "TCP" },
    ],
  },
];

/** The pods a rendered set of objects would run: every workload's pod template. */
export function podsOf(objects: readonly Doc[]): { name: string; pod: PodRef; spec: unknown }[] {
  const workloads = ["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"];
  return objects
    .filter((doc) => workloads.includes(String(doc.kind)))
    .map((doc) => ({
      name: `${String(doc.kind)}/${String(at(doc, "metadata", "name"))}`,
      pod: {
        namespace: (at(doc, "metadata", "namespace") as string | undefined) ?? "default",
        labels: asRecord(at(doc, "spec", "template", "metadata", "labels")) as Labels,
      },
      spec: at(doc, "spec", "template", "spec"),
    }));
}

/** What of REQUIRED_EGRESS a pod cannot reach under the policies, as readable lines. */
export function missingEgress(policies: readonly Doc[], pod: PodRef): string[] {
  return REQUIRED_EGRESS.flatMap(({ what, connections }) =>
    connections
      .filter((c) => !isAllowed(policies, pod, "Egress", c))
      .map((c) => `${what}: ${"ip" in c.peer ? c.peer.ip : `${c.peer.pod.namespace} pods`} ${c.protocol}/${c.port}`),
  );
}
