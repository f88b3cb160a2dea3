import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  ROOT,
  asArray,
  asRecord,
  at,
  findObject,
  hclAttribute,
  hclBlock,
  k8sObjects,
  list,
  read,
  variableDefault,
  yamlDoc,
} from "./files.js";
import { API_PORT, DEPLOYMENTS, NAMESPACE, OPS, WORKER_KSA, WORKER_PORT } from "./ops.js";

const k8s = k8sObjects("k8s/base", "k8s/workers", "k8s/autoscaling");
const configMap = asRecord(at(findObject(k8s, "ConfigMap", "imagen-config"), "data"));
const workers = OPS.map((op) => findObject(k8s, "Deployment", DEPLOYMENTS[op]));
const podSpec = (deployment: unknown) => at(deployment, "spec", "template", "spec");
const workerContainer = (deployment: unknown) =>
  asArray(at(podSpec(deployment), "containers")).find((c) => at(c, "name") === "worker");
const mainTf = read("terraform/main.tf");
const cloudRun = hclBlock(mainTf, 'resource "google_cloud_run_v2_service" "api" {');
const cloudBuild = read("cloudbuild.yaml");
const compose = yamlDoc("docker/docker-compose.yml");

function codeDefault(source: string, name: string): number {
  const match = new RegExp(`"${name}",\\s*([\\d_]+)`).exec(read(source));
  if (!match) throw new Error(`no default for ${name} in ${source}`);
  return Number(match[1]!.replaceAll("_", ""));
}

describe("ports and probes match the code", () => {
  it("the code's defaults are 8080 (API) and 8081 (worker health)", () => {
    expect(codeDefault("apps/api/src/config.ts", "PORT")).toBe(API_PORT);
    expect(codeDefault("apps/worker/src/config.ts", "WORKER_PORT")).toBe(WORKER_PORT);
    for (const path of ['"/healthz"', '"/readyz"', '"/metrics"']) {
      expect(read("apps/worker/src/health-server.ts")).toContain(path);
    }
    expect(read("apps/api/src/routes/health.ts")).toContain('"/healthz"');
    expect(read("apps/api/src/routes/health.ts")).toContain('"/readyz"');
  });

  it("workers: port 8081, readiness /readyz, liveness /healthz, scraped at /metrics", () => {
    expect(configMap.WORKER_PORT).toBe(String(WORKER_PORT));
    for (const deployment of workers) {
      const container = workerContainer(deployment);
      expect(at(container, "ports", 0)).toMatchObject({ name: "health", containerPort: WORKER_PORT });
      expect(at(container, "readinessProbe", "httpGet")).toEqual({ path: "/readyz", port: "health" });
      expect(at(container, "livenessProbe", "httpGet")).toEqual({ path: "/healthz", port: "health" });
      expect(at(container, "command")).toEqual(["node", "apps/worker/dist/main.js"]);
    }
    const monitoring = findObject(k8s, "PodMonitoring", "imagen-workers");
    expect(at(monitoring, "spec", "endpoints", 0)).toMatchObject({ port: "health", path: "/metrics" });
  });

  it("API on Cloud Run: port 8080, startup on /readyz, liveness on /healthz", () => {
    expect(hclAttribute(hclBlock(cloudRun, "ports {"), "container_port")).toBe(String(API_PORT));
    expect(hclBlock(cloudRun, "startup_probe {")).toMatch(/path = "\/readyz"\s+port = 8080/);
    expect(hclBlock(cloudRun, "liveness_probe {")).toMatch(/path = "\/healthz"\s+port = 8080/);
    // No command: the image's entrypoint runs node apps/api/dist/main.js (test/infra/bootstrap.test.ts).
    expect(cloudRun).not.toMatch(/^\s*command\s*=/m);
  });

  it("compose and the Dockerfiles use the same ports and paths", () => {
    expect(JSON.stringify(at(compose, "services", "api", "healthcheck"))).toContain(`:${API_PORT}/readyz`);
    expect(JSON.stringify(at(compose, "services", "worker", "healthcheck"))).toContain(`:${WORKER_PORT}/readyz`);
    expect(read("docker/api.Dockerfile")).toContain(`EXPOSE ${API_PORT}`);
    expect(read("docker/worker.Dockerfile")).toContain(`EXPOSE ${WORKER_PORT}`);
  });
});

describe("worker pods", () => {
  const drainMs = Number(configMap.WORKER_DRAIN_TIMEOUT_MS);

  it("get a termination grace period above the drain deadline", () => {
    expect(drainMs).toBeGreaterThan(0);
    for (const deployment of workers) {
      expect(Number(at(podSpec(deployment), "terminationGracePeriodSeconds")) * 1000).toBeGreaterThan(drainMs);
    }
    const local = findObject(k8sObjects("k8s/local"), "Deployment", "imagen-local");
    const localDrain = asArray(at(podSpec(local), "containers", 1, "env")).find(
      (e) => at(e, "name") === "WORKER_DRAIN_TIMEOUT_MS",
    );
    expect(Number(at(podSpec(local), "terminationGracePeriodSeconds")) * 1000).toBeGreaterThan(
      Number(at(localDrain, "value")),
    );
    const composeGraceS = Number(/^(\d+)s$/.exec(String(at(compose, "services", "worker", "stop_grace_period")))?.[1]);
    expect(composeGraceS * 1000).toBeGreaterThan(
      Number(at(compose, "services", "worker", "environment", "WORKER_DRAIN_TIMEOUT_MS")),
    );
  });

  it("run one GPU each, non-root, read-only, no capabilities, with /tmp and the model cache", () => {
    for (const deployment of workers) {
      const pod = podSpec(deployment);
      const container = workerContainer(deployment);
      expect(at(pod, "nodeSelector", "cloud.google.com/gke-accelerator")).toBeTruthy();
      expect(at(pod, "securityContext", "runAsNonRoot")).toBe(true);
      expect(at(pod, "serviceAccountName")).toBe(WORKER_KSA);
      expect(at(container, "resources", "limits", "nvidia.com/gpu")).toBe("1");
      expect(at(container, "resources", "requests", "nvidia.com/gpu")).toBe("1");
      for (const c of [...asArray(at(pod, "initContainers")), container]) {
        expect(at(c, "securityContext")).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(at(c, "resources", "limits")).toBeDefined();
      }
      const mounts = asArray(at(container, "volumeMounts")).map((m) => [at(m, "name"), at(m, "mountPath")]);
      expect(mounts).toContainEqual(["model-cache", configMap.IMAGEN_MODEL_DIR]);
      expect(mounts).toContainEqual(["tmp", "/tmp"]);
      expect(asArray(at(pod, "volumes")).find((v) => at(v, "name") === "tmp")).toHaveProperty("emptyDir");
      expect(at(container, "envFrom", 0, "configMapRef", "name")).toBe("imagen-config");
    }
  });
});

describe("queue settings agree between the ConfigMap, Terraform and compose", () => {
  const settings = {
    queue_lease_ms: "QUEUE_LEASE_MS",
    queue_max_attempts: "QUEUE_MAX_ATTEMPTS",
    queue_backoff_base_ms: "QUEUE_BACKOFF_BASE_MS",
    queue_backoff_max_ms: "QUEUE_BACKOFF_MAX_MS",
  };

  it.each(Object.entries(settings))("terraform %s = ConfigMap %s, not overridden per environment", (tf, env) => {
    expect(variableDefault(tf)).toBe(configMap[env]);
    expect(at(compose, "services", "worker", "environment", env)).toBe(configMap[env]);
    for (const tfvars of list("terraform/environments", ".tfvars"))
      expect(read(tfvars)).not.toMatch(new RegExp(`^${tf}\\b`, "m"));
  });

  it("are within Pub/Sub's limits and reach the subscription", () => {
    const leaseS = Number(configMap.QUEUE_LEASE_MS) / 1000;
    const minS = Number(configMap.QUEUE_BACKOFF_BASE_MS) / 1000;
    const maxS = Number(configMap.QUEUE_BACKOFF_MAX_MS) / 1000;
    const attempts = Number(configMap.QUEUE_MAX_ATTEMPTS);
    expect(leaseS).toBeGreaterThanOrEqual(10);
    expect(leaseS).toBeLessThanOrEqual(600);
    expect(minS).toBeGreaterThanOrEqual(10);
    expect(maxS).toBeLessThanOrEqual(600);
    expect(attempts).toBeGreaterThanOrEqual(5);
    expect(attempts).toBeLessThanOrEqual(100);

    const pubsubCall = hclBlock(mainTf, 'module "pubsub" {');
    expect(hclAttribute(pubsubCall, "ack_deadline_seconds")).toBe("var.queue_lease_ms / 1000");
    expect(hclAttribute(pubsubCall, "minimum_backoff")).toBe("${var.queue_backoff_base_ms / 1000}s");
    expect(hclAttribute(pubsubCall, "maximum_backoff")).toBe("${var.queue_backoff_max_ms / 1000}s");
    expect(hclAttribute(pubsubCall, "max_delivery_attempts")).toBe("var.queue_max_attempts");
    const subscription = hclBlock(
      read("terraform/modules/pubsub/main.tf"),
      'resource "google_pubsub_subscription" "worker" {',
    );
    expect(hclAttribute(subscription, "ack_deadline_seconds")).toBe("var.ack_deadline_seconds");
    expect(hclAttribute(subscription, "minimum_backoff")).toBe("var.minimum_backoff");
    expect(hclAttribute(subscription, "maximum_backoff")).toBe("var.maximum_backoff");
    expect(hclAttribute(subscription, "max_delivery_attempts")).toBe("var.max_delivery_attempts");
    expect(hclAttribute(subscription, "dead_letter_topic")).toBe("google_pubsub_topic.dead_letter[each.key].id");

    const init = read("docker/compose-init.sh");
    expect(/^ACK_DEADLINE_S=(\d+)/m.exec(init)?.[1]).toBe(String(leaseS));
    expect(/^MIN_BACKOFF=(\d+)s/m.exec(init)?.[1]).toBe(String(minS));
    expect(/^MAX_BACKOFF=(\d+)s/m.exec(init)?.[1]).toBe(String(maxS));
    expect(/^MAX_DELIVERY_ATTEMPTS=(\d+)/m.exec(init)?.[1]).toBe(String(attempts));
  });
});

describe("images and names agree between Cloud Build, k8s, Terraform and the Makefile", () => {
  const registry = "${_REGION}-docker.pkg.dev/${PROJECT_ID}/imagen";

  it("the registry is <region>-docker.pkg.dev/<project>/imagen everywhere", () => {
    expect(at(yamlDoc("cloudbuild.yaml"), "substitutions", "_REGISTRY")).toBe(registry);
    expect(hclAttribute(mainTf, "registry")).toBe(
      "${var.region}-docker.pkg.dev/${var.project_id}/${local.repository_id}",
    );
    const repository = hclBlock(mainTf, 'resource "google_artifact_registry_repository" "images" {');
    expect(hclAttribute(repository, "repository_id")).toBe("local.repository_id");
    expect(/repository_id\s*=\s*"imagen"/.test(mainTf)).toBe(true);
    expect(read("Makefile")).toContain("REGISTRY ?= $(REGION)-docker.pkg.dev/$(PROJECT_ID)/imagen");
  });

  it("api and worker images are built, pushed and deployed under the same names", () => {
    expect(cloudBuild).toContain('"-f", "docker/api.Dockerfile", "-t", "${_REGISTRY}/api:${_TAG}"');
    expect(cloudBuild).toContain('"--target", "cuda", "-t", "${_REGISTRY}/worker:${_TAG}"');
    expect(cloudBuild).toContain('"push", "${_REGISTRY}/api:${_TAG}"');
    expect(cloudBuild).toContain('"push", "${_REGISTRY}/worker:${_TAG}"');
    expect(cloudBuild).toContain('"worker=${_REGISTRY}/worker:${_TAG}"');
    expect(hclAttribute(mainTf, "api_image")).toContain('"${local.registry}/api:${var.api_image_tag}"');
    expect(/"run", "deploy", "(\S+)"/.exec(cloudBuild)?.[1]).toBe(/name\s*=\s*"([^"]+)"/.exec(cloudRun)?.[1]);
    for (const deployment of workers) {
      expect(at(workerContainer(deployment), "image")).toBe(
        "__REGION__-docker.pkg.dev/__PROJECT_ID__/imagen/worker:__IMAGE_TAG__",
      );
    }
    const makefile = read("Makefile");
    expect(makefile).toContain("-t $(REGISTRY)/api:$(TAG)");
    expect(makefile).toContain("--target cuda -t $(REGISTRY)/worker:$(TAG)");
  });

  it("buckets, service accounts and Workload Identity line up", () => {
    expect(configMap.GCS_BUCKET).toBe("__PROJECT_ID__-imagen-blobs");
    expect(hclAttribute(mainTf, "blobs_bucket")).toBe("${var.project_id}-imagen-blobs");
    expect(hclAttribute(mainTf, "models_bucket")).toBe("${var.project_id}-imagen-models");
    for (const deployment of workers) {
      expect(at(podSpec(deployment), "initContainers", 0, "command")).toContain(
        "gs://__PROJECT_ID__-imagen-models/models",
      );
    }
    expect(read("Makefile")).toContain("gs://$(PROJECT_ID)-imagen-models/models");
    const ksa = findObject(k8s, "ServiceAccount", WORKER_KSA);
    expect(at(ksa, "metadata", "namespace")).toBe(NAMESPACE);
    expect(at(ksa, "metadata", "annotations", "iam.gke.io/gcp-service-account")).toBe(
      "imagen-worker@__PROJECT_ID__.iam.gserviceaccount.com",
    );
    expect(read("terraform/modules/iam/main.tf")).toMatch(
      /resource "google_service_account" "worker" \{\s+account_id\s+= "imagen-worker"/,
    );
    expect(hclAttribute(mainTf, "k8s_namespace")).toBe(NAMESPACE);
    expect(hclAttribute(mainTf, "k8s_worker_ksa")).toBe(WORKER_KSA);
    const firestore = read("terraform/modules/firestore/main.tf");
    expect(firestore).toContain('field      = "expireAt"');
    expect(hclAttribute(hclBlock(mainTf, 'module "firestore" {'), "collection")).toBe(configMap.FIRESTORE_COLLECTION);
    expect(configMap.FIRESTORE_DATABASE_ID).toBe("(default)");
    expect(firestore).toContain('name                              = "(default)"');
  });

  it("base images are pinned by digest, the same Node image everywhere", () => {
    const digest = (text: string, arg: string) => new RegExp(`${arg}=(\\S+@sha256:[0-9a-f]{64})`).exec(text)?.[1];
    const api = read("docker/api.Dockerfile");
    const worker = read("docker/worker.Dockerfile");
    const node = digest(api, "NODE_IMAGE");
    expect(node).toBeDefined();
    expect(digest(worker, "NODE_IMAGE")).toBe(node);
    expect(at(yamlDoc("cloudbuild.yaml"), "substitutions", "_NODE_IMAGE")).toBe(node);
    expect(digest(worker, "CUDA_IMAGE")).toMatch(/^nvidia\/cuda:12\.[\d.]+-cudnn-runtime-/);
    for (const text of [api, worker]) {
      expect(text.match(/^FROM (\S+)/gm)?.every((from) => /^FROM (\$\{\w+_IMAGE\}|[a-z-]+)$/.test(from))).toBe(true);
    }
    expect(worker).toMatch(/^FROM \S+ AS cpu$/m);
    expect(worker).toMatch(/^FROM \$\{CUDA_IMAGE\} AS cuda$/m);
    expect(hclBlock(worker, "FROM manifests AS build-cuda")).toContain("ENV ONNXRUNTIME_NODE_INSTALL=cuda12");
  });

  it("both worker images run with the malloc settings npm start gives its worker", () => {
    const source = read("apps/api/src/embedded-worker.ts");
    const block = /CHILD_MALLOC_ENV[^=]*= \{([^}]*)\}/.exec(source)?.[1] ?? "";
    const settings = [...block.matchAll(/(\w+): "([^"]*)"/g)].map(([, name, value]) => `${name}=${value}`);
    expect(settings).toContain("GLIBC_TUNABLES=glibc.malloc.hugetlb=1");
    const worker = read("docker/worker.Dockerfile");
    for (const stage of ["cpu", "cuda"]) {
      // The stage's text with continuation lines joined, then the words of its ENV line.
      const from = new RegExp(`^FROM \\S+ AS ${stage}$`, "m").exec(worker)!;
      const text = worker
        .slice(from.index + from[0].length)
        .split(/^FROM /m)[0]!
        .replaceAll("\\\n", " ");
      const env = /^ENV (.*)$/m.exec(text)?.[1]?.split(/\s+/) ?? [];
      for (const setting of settings) expect(env, `${stage} stage`).toContain(setting);
    }
  });
});

describe("Pub/Sub grants cover what each process calls", () => {
  const iam = read("terraform/modules/iam/main.tf");
  /** `<for_each> <role>` of every Pub/Sub grant of `identity` on `kind` (topic or subscription). */
  const grants = (kind: "topic" | "subscription", identity: "api" | "worker") =>
    [...iam.matchAll(new RegExp(`resource "google_pubsub_${kind}_iam_member" "\\w+" \\{`, "g"))]
      .map((match) => hclBlock(iam, match[0]))
      .filter((block) => hclAttribute(block, "member") === `google_service_account.${identity}.member`)
      .map((block) => `${hclAttribute(block, "for_each")} ${hclAttribute(block, "role")}`)
      .sort();

  it("the API publishes to and reads (readiness) the op topics", () => {
    expect(grants("topic", "api")).toEqual(["var.topics roles/pubsub.publisher", "var.topics roles/pubsub.viewer"]);
    expect(grants("subscription", "api")).toEqual([]);
  });

  it("workers consume and read both subscriptions of each op, and publish dead letters", () => {
    expect(read("apps/worker/src/worker.ts")).toContain("consumeDeadLetters(");
    expect(grants("subscription", "worker")).toEqual([
      "local.worker_consumed_subscriptions roles/pubsub.subscriber",
      "local.worker_consumed_subscriptions roles/pubsub.viewer",
    ]);
    const locals = hclBlock(iam, "locals {\n  # Both subscriptions");
    expect(hclAttribute(locals, "worker_consumed_subscriptions")).toBe("merge(");
    expect(locals).toContain("var.worker_subscriptions");
    expect(locals).toContain("var.dead_letter_subscriptions");
    expect(hclAttribute(hclBlock(mainTf, 'module "iam" {'), "dead_letter_subscriptions")).toBe(
      "module.pubsub.dead_letter_subscriptions",
    );
    expect(grants("topic", "worker")).toEqual(["var.dead_letter_topics roles/pubsub.publisher"]);
  });
});

describe("kustomizations and the Makefile", () => {
  it.each(["k8s/base", "k8s/workers", "k8s/autoscaling", "k8s/autoscaling/keda", "k8s/local"])(
    "%s/kustomization.yaml lists every manifest of its folder",
    (dir) => {
      const resources = asArray(at(yamlDoc(`${dir}/kustomization.yaml`), "resources"))
        .map(String)
        .sort();
      const files = list(dir, ".yaml")
        .filter((f) => f.split("/").length === dir.split("/").length + 1)
        .map((f) => f.slice(dir.length + 1))
        .filter((f) => f !== "kustomization.yaml" && f !== "kind-config.yaml");
      expect(resources).toEqual(files.sort());
    },
  );

  it("keeps KEDA out of the default autoscaling kustomization", () => {
    expect(JSON.stringify(yamlDoc("k8s/autoscaling/kustomization.yaml"))).not.toContain("keda");
  });

  it("make -n k8s-deploy-all applies base, then workers, then autoscaling", () => {
    const out = execFileSync("make", ["-n", "--no-print-directory", "k8s-deploy-all", "PROJECT_ID=p", "TAG=t"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    const applies = out
      .split("\n")
      .filter((line) => line.includes("kubectl apply"))
      .map((line) => /kubectl kustomize (\S+)/.exec(line)?.[1]);
    expect(applies).toEqual(["k8s/base", "k8s/workers", "k8s/autoscaling"]);
  });

  it("declares every target .PHONY, each a one-line recipe, and lists them in make help", () => {
    const makefile = read("Makefile").replaceAll("\\\n", " ");
    const targets = [...makefile.matchAll(/^([a-z0-9-]+):/gm)].map((m) => m[1]!);
    const phony = /^\.PHONY:(.*)$/m.exec(makefile)?.[1]?.trim().split(/\s+/) ?? [];
    expect([...targets].sort()).toEqual([...phony].sort());
    const issueTargets =
      "tf-init tf-plan tf-apply tf-up tf-destroy api-keys build push deploy-api cloud-build get-credentials k8s-deploy-base k8s-deploy-workers k8s-deploy-autoscaling k8s-deploy-all k8s-hpa-status k8s-watch k8s-logs compose-up kind-up help";
    for (const target of issueTargets.split(" ")) expect(targets).toContain(target);
    for (const block of makefile.split(/^(?=[a-z0-9-]+:)/m).slice(1)) {
      expect(
        block.split("\n").filter((line) => line.startsWith("\t")),
        block,
      ).toHaveLength(1);
    }
    const help = execFileSync("make", ["--no-print-directory", "help"], { cwd: ROOT, encoding: "utf8" });
    for (const target of targets) expect(help).toMatch(new RegExp(`^\\s+${target}\\s`, "m"));
  });
});
