import { describe, expect, it } from "vitest";
import { apiKeyEntriesOfFile, findApiKey, parseApiKeys } from "../../apps/api/src/api-keys.js";
import { createFakeTools, runIn } from "./fake-tools.js";
import { asArray, at, hclAttribute, hclBlock, list, read, variableDefault, yamlDoc } from "./files.js";
import { DEPLOYMENTS, OPS } from "./ops.js";
import { renderedText } from "./render.js";

/**
 * What a first deployment on a new project trips over when only the static validators pass:
 * creation order, APIs, defaults that name things that do not exist yet.
 */
const mainTf = read("terraform/main.tf");
const terraform = list("terraform", ".tf").map((file) => ({ file, text: read(file) }));
const cloudRun = hclBlock(mainTf, 'resource "google_cloud_run_v2_service" "api" {');
const cloudBuild = yamlDoc("cloudbuild.yaml");
const steps = asArray(at(cloudBuild, "steps"));
const step = (id: string) => steps.find((s) => at(s, "id") === id);
const guide = read("docs/deploy.md");

/** Cloud Build's substitution of `$VAR`/`${VAR}` in a step, `$$` being a literal `$`. */
function substitute(text: string, values: Record<string, string>): string {
  return text
    .replaceAll("$$", "\u0000")
    .replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => values[braced ?? bare!] ?? whole)
    .replaceAll("\u0000", "$");
}

const substitutions = (tag: string) => ({
  _REGION: "us-central1",
  _GKE_CLUSTER: String(at(cloudBuild, "substitutions", "_GKE_CLUSTER")),
  _REGISTRY: "us-central1-docker.pkg.dev/p/imagen",
  _TAG: tag,
  PROJECT_ID: "p",
});

describe("Cloud Run on the first apply", () => {
  const bootstrap = hclBlock(
    read("terraform/api-keys.tf"),
    'resource "google_secret_manager_secret_version" "api_keys_bootstrap" {',
  );

  it("starts on Google's public placeholder image while no API image exists", () => {
    expect(variableDefault("api_image_tag")).toBe("");
    expect(hclAttribute(mainTf, "api_image")).toBe(
      'var.api_image_tag == "" ? local.api_placeholder_image : "${local.registry}/api:${var.api_image_tag}"',
    );
    expect(hclAttribute(mainTf, "api_placeholder_image")).toBe("us-docker.pkg.dev/cloudrun/container/placeholder");
    expect(hclAttribute(cloudRun, "image")).toBe("local.api_image");
  });

  it("sets no command, so the placeholder (and later the API image's entrypoint) starts", () => {
    expect(cloudRun).not.toMatch(/^\s*command\s*=/m);
    expect(read("docker/api.Dockerfile")).toMatch(/^CMD \["node", "apps\/api\/dist\/main\.js"\]$/m);
  });

  it("keeps the image Cloud Build deployed on every later apply", () => {
    expect(hclBlock(cloudRun, "lifecycle {")).toContain("ignore_changes = [template[0].containers[0].image");
  });

  it("has a key version to mount: a placeholder the API accepts and that admits no one", () => {
    const data = /<<-EOT\n([\s\S]*?)\n\s*EOT/.exec(bootstrap)?.[1]?.replace(/^ {4}/gm, "") ?? "";
    const { keys, problems } = parseApiKeys(apiKeyEntriesOfFile(data));
    expect(problems).toEqual([]);
    expect(keys.map((k) => [k.name, k.sha256.toString("hex")])).toEqual([["bootstrap-placeholder", "0".repeat(64)]]);
    for (const presented of ["", "bootstrap-placeholder", "0".repeat(64)])
      expect(findApiKey(keys, presented)).toBeNull();
    expect(hclAttribute(bootstrap, "secret")).toBe("google_secret_manager_secret.api_keys.id");
    expect(hclBlock(cloudRun, "depends_on = [")).toContain("google_secret_manager_secret_version.api_keys_bootstrap");
  });
});

describe("Cloud Build", () => {
  const rollScript = String(asArray(at(step("roll-workers"), "args")).at(-1));
  const roll = (existing: string) => {
    const tools = createFakeTools();
    runIn(tools, substitute(rollScript, substitutions("abc1234")), { FAKE_KUBECTL_GET: existing });
    return tools.calls().filter((c) => c.startsWith("kubectl "));
  };

  it("rolls nothing and passes on the first build, before the Deployments exist", () => {
    const calls = roll("");
    expect(calls.filter((c) => / set image | rollout /.test(c))).toEqual([]);
    expect(calls.filter((c) => c.includes(" get deployment "))).toHaveLength(OPS.length);
  });

  it("sets the new image on every worker Deployment that exists, then waits for each", () => {
    const calls = roll("deployment.apps/x");
    const image = "us-central1-docker.pkg.dev/p/imagen/worker:abc1234";
    for (const op of OPS) {
      expect(calls).toContainEqual(`kubectl -n imagen set image deployment/${DEPLOYMENTS[op]} worker=${image}`);
      expect(calls).toContainEqual(`kubectl -n imagen rollout status deployment/${DEPLOYMENTS[op]} --timeout=20m`);
    }
  });

  it("stops at its first step when the tag is empty (gcloud builds submit has no SHORT_SHA)", () => {
    expect(at(steps[0], "id")).toBe("check-tag");
    expect(at(cloudBuild, "substitutions", "_TAG")).toBe("${SHORT_SHA}");
    const check = String(asArray(at(step("check-tag"), "args")).at(-1));
    const tools = createFakeTools();
    expect(() => runIn(tools, substitute(check, substitutions("")))).toThrow(/image tag is empty/);
    expect(runIn(tools, substitute(check, substitutions("abc1234")))).toBe("");
    for (const s of steps.slice(1)) {
      const waits = asArray(at(s, "waitFor"));
      expect(waits.length, String(at(s, "id"))).toBeGreaterThan(0);
    }
    expect(JSON.stringify(cloudBuild)).not.toContain('SHORT_SHA"');
    expect(JSON.stringify(steps)).not.toContain("SHORT_SHA");
  });

  it("points at the guide's Cloud Build and workers steps", () => {
    const header = read("cloudbuild.yaml").split("\nsubstitutions:")[0]!;
    expect(guideStep(header)).toMatch(/Cloud Build/);
    expect(guideStep(rollScript)).toMatch(/Workers/);
  });
});

/** The heading of the step that "docs/deploy.md, step N" in the text names. */
function guideStep(text: string): string | undefined {
  const n = /docs\/deploy\.md, step (\d+)/.exec(text)?.[1];
  return n === undefined ? undefined : new RegExp(`^## ${n}\\. (.+)$`, "m").exec(guide)?.[1];
}

describe("the guide's references", () => {
  const infraFiles = [
    ...list("k8s", ".yaml"),
    ...list("k8s", ".md"),
    ...list("terraform", ".tf"),
    ...list("docker", "Dockerfile"),
    "cloudbuild.yaml",
    "Makefile",
  ];

  it("every 'docs/deploy.md, step N' and 'docs/deploy.md, \"Title\"' names a section that exists", () => {
    const headings = [...guide.matchAll(/^## (?:(\d+)\. )?(.+)$/gm)];
    let seen = 0;
    for (const file of infraFiles) {
      for (const m of read(file).matchAll(/docs\/deploy\.md, (?:step (\d+)|"([^"]+)")/g)) {
        seen++;
        expect(
          headings.some((h) => (m[1] !== undefined ? h[1] === m[1] : h[2]!.startsWith(m[2]!))),
          `${file}: ${m[0]}`,
        ).toBe(true);
      }
    }
    expect(seen).toBeGreaterThan(4);
  });

  it("the API keys' references point at the API keys step", () => {
    expect(guideStep(read("terraform/api-keys.tf"))).toBe("API keys");
  });

  it("every folder the guide applies with `kubectl apply -k` renders without placeholders", () => {
    const dirs = [...guide.matchAll(/kubectl apply -k (k8s\/[\w/-]+)/g)].map((m) => m[1]!);
    expect(new Set(dirs)).toEqual(new Set(["k8s/autoscaling", "k8s/autoscaling/keda", "k8s/local"]));
    for (const dir of dirs) expect(renderedText(dir), dir).not.toMatch(/__[A-Z_]+__/);
    // `kubectl apply -f k8s/…` appears once: where the guide says never to run it.
    expect(guide.match(/kubectl apply -f k8s\//g)).toEqual(["kubectl apply -f k8s/"]);
    expect(guide).toContain("Never `kubectl apply -f k8s/...`");
  });

  it("gives the exact log line of a CUDA worker, as the worker's code writes it", () => {
    const line = /```text\n(\{.*"msg":"[^"]+"\})\n```/.exec(guide)?.[1];
    expect(line).toBeDefined();
    const logged = JSON.parse(line!) as Record<string, unknown>;
    expect(logged).toMatchObject({ level: 30, service: "imagen-worker", executionProvider: "cuda" });
    const code = read("packages/imaging/src/pipeline-pool.ts");
    const call = new RegExp(`\\.info\\(\\s*\\{([^}]*)\\},\\s*"${String(logged.msg)}"`).exec(code);
    expect(call, `a log.info call with the message ${String(logged.msg)}`).not.toBeNull();
    for (const key of ["ops", "executionProvider", "ms"]) expect(call![1]).toContain(key);
    expect(read("apps/worker/src/main.ts")).toContain('createLogger({ service: "imagen-worker"');
    // What the guide tells to grep for is in that line, not only in the failure's message.
    for (const m of guide.matchAll(/grep [^']*'([^']+)'/g)) expect(line).toContain(m[1]);
    expect(read("packages/imaging/src/sessions.ts")).toContain("with execution provider ${options.executionProvider}");
    expect(guide).not.toContain("execution provider cuda");
  });
});

/** The Google API each kind of Terraform block needs enabled before it can be created. */
const API_OF: [RegExp, string][] = [
  [/resource "google_container_cluster"/, "container.googleapis.com"],
  [/^\s*binary_authorization \{/m, "binaryauthorization.googleapis.com"],
  [/^\s*managed_prometheus \{/m, "monitoring.googleapis.com"],
  [/resource "google_compute_/, "compute.googleapis.com"],
  [/resource "google_cloud_run_v2_/, "run.googleapis.com"],
  [/resource "google_secret_manager_/, "secretmanager.googleapis.com"],
  [/resource "google_pubsub_/, "pubsub.googleapis.com"],
  [/resource "google_firestore_/, "firestore.googleapis.com"],
  [/resource "google_artifact_registry_/, "artifactregistry.googleapis.com"],
  [/resource "google_storage_bucket/, "storage.googleapis.com"],
  [/resource "google_service_account/, "iam.googleapis.com"],
  [/data "google_project"|resource "google_project_iam_/, "cloudresourcemanager.googleapis.com"],
];

describe("Terraform on a new project", () => {
  const enabled = [
    ...hclBlock(mainTf, 'resource "google_project_service" "apis" {').matchAll(/"([a-z]+\.googleapis\.com)"/g),
  ].map((m) => m[1]!);

  it("enables the API of every resource and block it uses", () => {
    for (const { file, text } of terraform) {
      for (const [pattern, api] of API_OF)
        if (pattern.test(text)) expect(enabled, `${file} needs ${api}`).toContain(api);
    }
  });

  it("the check catches binary_authorization without its API", () => {
    const cluster = 'resource "google_container_cluster" "c" {\n  binary_authorization {\n  }\n}';
    const needed = API_OF.filter(([pattern]) => pattern.test(cluster)).map(([, api]) => api);
    expect(needed).toEqual(["container.googleapis.com", "binaryauthorization.googleapis.com"]);
  });

  it("make tf-init first enables the two APIs Terraform needs to read the project and enable the rest", () => {
    expect(/^tf-init:.*\n\t(.*)$/m.exec(read("Makefile"))?.[1]).toMatch(
      /^gcloud services enable serviceusage\.googleapis\.com cloudresourcemanager\.googleapis\.com /,
    );
  });

  it("gives the private nodes a Cloud NAT (KEDA's images, webhook receivers)", () => {
    const gke = read("terraform/modules/gke/main.tf");
    expect(gke).toMatch(/enable_private_nodes\s+= true/);
    const nat = hclBlock(gke, 'resource "google_compute_router_nat" "this" {');
    expect(hclAttribute(nat, "router")).toBe("google_compute_router.this.name");
    expect(hclAttribute(nat, "source_subnetwork_ip_ranges_to_nat")).toBe("ALL_SUBNETWORKS_ALL_IP_RANGES");
    expect(hclAttribute(hclBlock(gke, 'resource "google_compute_router" "this" {'), "network")).toBe(
      "google_compute_network.this.id",
    );
  });

  it("runs the nodes as their own service account, which may pull the worker image", () => {
    const gke = read("terraform/modules/gke/main.tf");
    expect(hclBlock(gke, "auto_provisioning_defaults {")).toContain(
      "service_account = google_service_account.nodes.email",
    );
    expect(hclBlock(read("terraform/modules/iam/main.tf"), '"nodes_pull" {')).toContain(
      "member     = var.node_service_account.member",
    );
    expect(mainTf).not.toContain("-compute@developer.gserviceaccount.com");
  });

  it("deletes old images from Artifact Registry and keeps the newest", () => {
    const repository = hclBlock(mainTf, 'resource "google_artifact_registry_repository" "images" {');
    const policies = [...repository.matchAll(/cleanup_policies \{/g)].map((m) =>
      hclBlock(repository.slice(m.index), "cleanup_policies {"),
    );
    expect(policies.map((p) => hclAttribute(p, "action"))).toEqual(["KEEP", "DELETE"]);
    expect(hclBlock(policies[0]!, "most_recent_versions {")).toMatch(/keep_count = \d+/);
    expect(hclBlock(policies[1]!, "condition {")).toMatch(/older_than = "\d+s"/);
    expect(hclAttribute(repository, "cleanup_policy_dry_run")).toBe("false");
  });

  it("names the cluster as the seed did unless told otherwise, everywhere", () => {
    expect(variableDefault("cluster_name")).toBe("imagen-cluster");
    expect(read("Makefile")).toMatch(/^CLUSTER \?= imagen-cluster$/m);
    expect(read("Makefile")).toContain("-var=cluster_name=$(CLUSTER)");
    for (const tfvars of list("terraform/environments", ".tfvars")) expect(read(tfvars)).not.toMatch(/^cluster_name/m);
  });
});

describe("local runs", () => {
  it("compose and kind publish different host ports, the ones make help names", () => {
    const compose = asArray(
      Object.values(at(yamlDoc("docker/docker-compose.yml"), "services") as Record<string, unknown>).flatMap((s) =>
        asArray(at(s, "ports")),
      ),
    ).map((p) => Number(String(p).split(":")[0]));
    const kind = asArray(at(yamlDoc("k8s/local/kind-config.yaml"), "nodes", 0, "extraPortMappings")).map((m) =>
      Number(at(m, "hostPort")),
    );
    expect(compose.filter((port) => kind.includes(port))).toEqual([]);
    const makefile = read("Makefile");
    expect(/^compose-up:.*localhost:(\d+)/m.exec(makefile)?.[1]).toBe("8080");
    expect(compose).toContain(8080);
    expect(Number(/^kind-up:.*localhost:(\d+)/m.exec(makefile)?.[1])).toBe(kind[0]);
  });

  it("the API listens on all interfaces wherever it runs (its default is loopback without keys)", () => {
    expect(read("docker/api.Dockerfile")).toContain("ENV HOST=0.0.0.0");
    expect(hclBlock(cloudRun, "for_each = {")).toMatch(/^\s+HOST\s+= "0\.0\.0\.0"$/m);
    expect(at(yamlDoc("docker/docker-compose.yml"), "services", "api", "environment", "HOST")).toBe("0.0.0.0");
    expect(renderedText("k8s/local")).toMatch(/- name: HOST\n\s+value: 0\.0\.0\.0/);
  });
});
