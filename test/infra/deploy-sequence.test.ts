import { beforeAll, describe, expect, it } from "vitest";
import { createFakeTools, headShortSha, runIn, type FakeTools } from "./fake-tools.js";
import { asArray, at, read, variableDefault, yamlDoc } from "./files.js";
import { DEPLOYMENTS, OPS } from "./ops.js";

/**
 * docs/deploy.md's sequence, run as written: every `make` line of its "The sequence" block, in
 * order, against stand-ins for terraform, gcloud, docker and kubectl (test/infra/fake-tools.ts).
 * What one step creates is what the next one uses: the plan file, the cluster, the image tag.
 */
const guide = read("docs/deploy.md");

function sequenceBlock(): string {
  const section = guide.slice(guide.indexOf("## The sequence"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('docs/deploy.md: no sh block under "## The sequence"');
  return block;
}

const lines = sequenceBlock()
  .split("\n")
  .map((line) => line.replace(/\s+#.*$/, "").trim())
  .filter(Boolean);
const exported = Object.fromEntries(
  (/^export (.+)$/m.exec(sequenceBlock())?.[1] ?? "").split(/\s+/).map((pair) => pair.split("=") as [string, string]),
);
const makeLines = lines.filter((line) => line.startsWith("make "));
const targetsOf = (line: string) =>
  line
    .split(/\s+/)
    .slice(1)
    .filter((word) => !word.includes("="));

let tools: FakeTools;
let calls: string[];
const tag = headShortSha();
const project = exported.PROJECT_ID!;
const region = exported.REGION ?? "us-central1";
const registry = `${region}-docker.pkg.dev/${project}/imagen`;

beforeAll(() => {
  tools = createFakeTools();
  runIn(tools, "printf 'ops:sha256:%064d\\n' 0 > keys.txt");
  for (const line of makeLines) runIn(tools, line, exported);
  calls = tools.calls();
});

const indexOf = (pattern: RegExp) => calls.findIndex((call) => pattern.test(call));

describe("the guide's sequence", () => {
  it("is the issue's order: Terraform, keys, images, credentials, workers, HPA status", () => {
    expect(makeLines.map(targetsOf)).toEqual([
      ["tf-init", "tf-plan", "tf-apply"],
      ["api-keys"],
      ["build", "push", "deploy-api"],
      ["get-credentials"],
      ["k8s-deploy-all"],
      ["k8s-hpa-status"],
    ]);
    expect(exported.PROJECT_ID).toBeTruthy();
    expect(exported.ENV).toBe("dev");
  });

  it("names only targets the Makefile has, in every make command of the guide", () => {
    const targets = new Set([...read("Makefile").matchAll(/^([a-z0-9-]+):/gm)].map((m) => m[1]!));
    const used = [...guide.matchAll(/`?\bmake ((?:[a-z0-9-]+ ?)+)/g)].flatMap((m) => m[1]!.trim().split(" "));
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((t) => !targets.has(t))).toEqual([]);
  });

  it("Terraform: enables its own APIs, creates the state bucket, then init, plan into a file, apply that file", () => {
    const enable = indexOf(
      /^gcloud services enable serviceusage\.googleapis\.com cloudresourcemanager\.googleapis\.com/,
    );
    const bucket = indexOf(new RegExp(`^gcloud storage buckets create gs://${project}-imagen-tfstate `));
    const init = indexOf(/^terraform -chdir=terraform init /);
    const plan = indexOf(/^terraform -chdir=terraform plan .* -out=dev\.tfplan$/);
    const apply = indexOf(/^terraform -chdir=terraform apply dev\.tfplan$/);
    expect(
      [enable, bucket, init, plan, apply].every((i) => i >= 0),
      calls.join("\n"),
    ).toBe(true);
    expect(enable < bucket && bucket < init && init < plan && plan < apply).toBe(true);
    expect(calls[init]).toContain(`-backend-config=bucket=${project}-imagen-tfstate`);
    expect(runIn(tools, "ls terraform")).toBe("");
  });

  it("the cluster Terraform creates is the one kubectl is pointed at and Cloud Build rolls", () => {
    const cluster = /-var=cluster_name=(\S+)/.exec(calls[indexOf(/^terraform .* plan /)]!)?.[1];
    expect(cluster).toBe(variableDefault("cluster_name"));
    expect(cluster).toBe("imagen-cluster");
    expect(calls[indexOf(/^gcloud container clusters get-credentials /)]).toContain(`get-credentials ${cluster} `);
    expect(at(yamlDoc("cloudbuild.yaml"), "substitutions", "_GKE_CLUSTER")).toBe(cluster);
    expect(read("terraform/main.tf")).toMatch(/module "gke" \{[^}]*name\s+= var\.cluster_name/);
  });

  it("adds the keys file as the secret's new version", () => {
    expect(calls).toContainEqual(
      `gcloud secrets versions add imagen-api-keys --data-file=keys.txt --project=${project}`,
    );
  });

  it("builds, pushes and deploys the images under the commit's 7-character tag", () => {
    expect(tag).toMatch(/^[0-9a-f]{7}$/);
    expect(calls).toContainEqual(`docker build -f docker/api.Dockerfile -t ${registry}/api:${tag} .`);
    expect(calls).toContainEqual(
      `docker build -f docker/worker.Dockerfile --target cuda -t ${registry}/worker:${tag} .`,
    );
    const login = indexOf(new RegExp(`^gcloud auth configure-docker ${region}-docker\\.pkg\\.dev`));
    const push = indexOf(new RegExp(`^docker push ${registry}/worker:${tag}$`));
    expect(login >= 0 && push > login).toBe(true);
    expect(calls).toContainEqual(`docker push ${registry}/api:${tag}`);
    expect(calls[indexOf(/^gcloud run deploy imagen-api /)]).toContain(`--image=${registry}/api:${tag}`);
  });

  it("uploads the models before it applies base, then workers, then autoscaling", () => {
    const models = indexOf(new RegExp(`^gcloud storage rsync .* models gs://${project}-imagen-models/models$`));
    const renders = ["k8s/base", "k8s/workers", "k8s/autoscaling"].map((dir) =>
      calls.indexOf(`kubectl kustomize ${dir}`),
    );
    expect(models).toBeGreaterThanOrEqual(0);
    expect(renders.every((i) => i > models)).toBe(true);
    expect([...renders].sort((a, b) => a - b)).toEqual(renders);
  });

  it("applies every placeholder filled, and the workers on the image just pushed", () => {
    expect(tools.appliedText()).not.toMatch(/__[A-Z_]+__/);
    const applied = tools.applied();
    for (const op of OPS) {
      const deployment = applied.find((d) => d.kind === "Deployment" && at(d, "metadata", "name") === DEPLOYMENTS[op]);
      const containers = asArray(at(deployment, "spec", "template", "spec", "containers"));
      expect(at(containers[0], "image"), op).toBe(`${registry}/worker:${tag}`);
    }
    expect(applied.filter((d) => d.kind === "HorizontalPodAutoscaler")).toHaveLength(OPS.length);
    expect(applied.find((d) => d.kind === "ConfigMap")).toMatchObject({ data: { GCP_PROJECT_ID: project } });
  });

  it("applies neither the kind files nor the optional KEDA objects", () => {
    const kinds = tools.applied().map((d) => String(d.kind));
    expect(kinds).not.toContain("ScaledObject");
    expect(kinds).not.toContain("Cluster");
    expect(kinds).not.toContain("Kustomization");
  });

  it("ends with the HPAs' status", () => {
    expect(calls.at(-1)).toBe("kubectl -n imagen get hpa -o wide");
  });
});

describe("the guide's alternatives", () => {
  it("make tf-up runs tf-init, tf-plan and tf-apply", () => {
    const fresh = createFakeTools();
    runIn(fresh, "make tf-up", exported);
    const terraform = fresh.calls().filter((c) => c.startsWith("terraform "));
    expect(terraform.map((c) => c.split(" ")[2])).toEqual(["init", "plan", "apply"]);
    expect(terraform[2]).toBe("terraform -chdir=terraform apply dev.tfplan");
  });

  it("make tf-init then make tf-apply, with no plan file, plans and asks", () => {
    const fresh = createFakeTools();
    runIn(fresh, "make tf-init && make tf-apply", exported);
    expect(fresh.calls().at(-1)).toMatch(/^terraform -chdir=terraform apply -var-file=environments\/dev\.tfvars /);
  });

  it("make cloud-build gives Cloud Build the tag, the cluster, the deployer and Terraform's staging bucket", () => {
    const fresh = createFakeTools();
    runIn(fresh, "make cloud-build", exported);
    const submit = fresh.calls().find((c) => c.startsWith("gcloud builds submit "));
    expect(submit).toContain(`--substitutions=_TAG=${tag},_REGION=${region},_GKE_CLUSTER=imagen-cluster `);
    expect(submit).toContain(
      `--service-account=projects/${project}/serviceAccounts/imagen-deployer@${project}.iam.gserviceaccount.com`,
    );
    expect(submit).toContain(`--gcs-source-staging-dir=gs://${project}-imagen-build/source`);
    expect(read("terraform/main.tf")).toContain('build_bucket  = "${var.project_id}-imagen-build"');
    expect(read("terraform/modules/iam/main.tf")).toMatch(
      /"deployer_build_source" \{\s+bucket = var\.build_bucket\.name\s+role\s+= "roles\/storage\.objectViewer"/,
    );
  });

  it("make api-keys without a file stops and says what it needs", () => {
    const fresh = createFakeTools();
    expect(() => runIn(fresh, "make api-keys", exported)).toThrow(/KEYS_FILE=<file> is required/);
  });
});
