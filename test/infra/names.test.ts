import { OP_NAMES } from "@imagen/core";
import { describe, expect, it } from "vitest";
import { asArray, at, findObject, hclBlock, k8sObjects, read, variableDefault } from "./files.js";
import { DEPLOYMENTS, NAMESPACE, OPS, TOPIC_PREFIX, pubSubNames } from "./ops.js";

const k8s = k8sObjects("k8s/base", "k8s/workers", "k8s/autoscaling");

describe("the op table", () => {
  it("lists exactly the ops of the code", () => {
    expect([...OPS].sort()).toEqual([...OP_NAMES].sort());
  });
});

describe.each(OPS)("op %s", (op) => {
  const name = DEPLOYMENTS[op];
  const names = pubSubNames(op);

  it("has a worker Deployment that consumes only this op and carries its Pub/Sub names", () => {
    const deployment = findObject(k8s, "Deployment", name);
    expect(deployment, `Deployment ${name}`).toBeDefined();
    expect(at(deployment, "metadata", "namespace")).toBe(NAMESPACE);
    expect(at(deployment, "metadata", "labels", "imagen.dev/op")).toBe(op);
    expect(at(deployment, "metadata", "annotations")).toMatchObject({
      "imagen.dev/topic": names.topic,
      "imagen.dev/subscription": names.subscription,
      "imagen.dev/dead-letter-topic": names.deadLetterTopic,
      "imagen.dev/dead-letter-subscription": names.deadLetterSubscription,
    });
    const env = asArray(at(deployment, "spec", "template", "spec", "containers", 0, "env"));
    expect(env).toContainEqual({ name: "IMAGEN_WORKER_OPS", value: op });
  });

  it("has a PodDisruptionBudget for its Deployment", () => {
    const pdb = findObject(k8s, "PodDisruptionBudget", name);
    expect(at(pdb, "spec", "selector", "matchLabels", "app.kubernetes.io/name")).toBe(name);
  });

  it("has an HPA on its subscription's backlog: target 2 per pod, 1..10 replicas, slow scale-down", () => {
    const hpa = findObject(k8s, "HorizontalPodAutoscaler", name);
    expect(at(hpa, "spec", "scaleTargetRef")).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name });
    expect(at(hpa, "spec", "minReplicas")).toBe(1);
    expect(at(hpa, "spec", "maxReplicas")).toBe(10);
    const external = at(hpa, "spec", "metrics", 0, "external");
    expect(at(external, "metric", "name")).toBe("pubsub.googleapis.com|subscription|num_undelivered_messages");
    expect(at(external, "metric", "selector", "matchLabels")).toEqual({
      "resource.labels.subscription_id": names.subscription,
    });
    expect(at(external, "target")).toEqual({ type: "AverageValue", averageValue: "2" });
    expect(at(hpa, "spec", "behavior", "scaleDown", "stabilizationWindowSeconds")).toBeGreaterThanOrEqual(60);
  });

  it("has an optional KEDA ScaledObject on the same subscription", () => {
    const scaled = findObject(k8sObjects("k8s/autoscaling/keda"), "ScaledObject", name);
    expect(at(scaled, "spec", "scaleTargetRef", "name")).toBe(name);
    expect(at(scaled, "spec", "minReplicaCount")).toBe(0);
    expect(at(scaled, "spec", "triggers", 0, "metadata", "subscriptionName")).toBe(names.subscription);
  });

  it("is rolled out by Cloud Build", () => {
    const rollLoops = read("cloudbuild.yaml").match(/for deployment in ([^;"]+);/g) ?? [];
    expect(rollLoops).toHaveLength(1);
    expect(rollLoops[0]!.replace(/;$/, "").split(/\s+/)).toContain(name);
  });
});

describe("Pub/Sub names", () => {
  it("are built by Terraform from the same prefix and ops", () => {
    expect(variableDefault("pubsub_topic_prefix")).toBe(TOPIC_PREFIX);
    expect(JSON.parse(variableDefault("ops") ?? "[]")).toEqual(OPS);
    const pubsub = read("terraform/modules/pubsub/main.tf");
    const nameOf = (header: string) => /\bname\s*=\s*"([^"]+)"/.exec(hclBlock(pubsub, header))?.[1];
    const fromTemplate = (template: string | undefined, op: string) =>
      template?.replace("${var.topic_prefix}", TOPIC_PREFIX).replace("${each.key}", op);
    for (const op of OPS) {
      const names = pubSubNames(op);
      expect(fromTemplate(nameOf('resource "google_pubsub_topic" "op"'), op)).toBe(names.topic);
      expect(fromTemplate(nameOf('resource "google_pubsub_subscription" "worker"'), op)).toBe(names.subscription);
      expect(fromTemplate(nameOf('resource "google_pubsub_topic" "dead_letter"'), op)).toBe(names.deadLetterTopic);
      expect(fromTemplate(nameOf('resource "google_pubsub_subscription" "dead_letter"'), op)).toBe(
        names.deadLetterSubscription,
      );
    }
  });

  it("are created by the compose init for the same ops", () => {
    const init = read("docker/compose-init.sh");
    expect(/^OPS=\(([^)]*)\)/m.exec(init)?.[1]?.split(" ")).toEqual(OPS);
    expect(/^PREFIX=(\S+)/m.exec(init)?.[1]).toBe(TOPIC_PREFIX);
    expect(init).toContain('topic="$PREFIX-$op" dead="$PREFIX-$op-dead-letter"');
    expect(init).toContain('"$ps/subscriptions/$topic-worker"');
    expect(init).toContain('"$ps/subscriptions/$dead-sub"');
  });

  it("are matched by the backlog alert", () => {
    const rules = JSON.stringify(findObject(k8s, "GlobalRules", "imagen-cloud-alerts"));
    const pattern = /subscription_id=~\\"([^\\]+)\\"/.exec(rules)?.[1];
    expect(pattern).toBeDefined();
    for (const op of OPS) expect(new RegExp(`^${pattern}$`).test(pubSubNames(op).subscription)).toBe(true);
  });
});
