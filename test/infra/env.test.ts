import { describe, expect, it } from "vitest";
import {
  asArray,
  asRecord,
  at,
  configVariables,
  findObject,
  hclBlock,
  k8sObjects,
  read,
  requiredConfigVariables,
  yamlDoc,
} from "./files.js";
import { EMULATOR_VARIABLES } from "./ops.js";

const known = new Set(configVariables());
const required = requiredConfigVariables();

const configMap = asRecord(at(findObject(k8sObjects("k8s/base"), "ConfigMap", "imagen-config"), "data"));
const compose = yamlDoc("docker/docker-compose.yml");
const composeEnv = (service: string) => asRecord(at(compose, "services", service, "environment"));
const cloudRunEnv = (() => {
  const service = hclBlock(read("terraform/main.tf"), 'resource "google_cloud_run_v2_service" "api" {');
  const map = hclBlock(service, "for_each = {");
  return Object.fromEntries([...map.matchAll(/^\s+([A-Z][A-Z0-9_]*)\s*=\s*(.+)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
})();

function containerEnvNames(dir: string): string[] {
  return k8sObjects(dir)
    .filter(({ doc }) => doc.kind === "Deployment" && at(doc, "metadata", "namespace") === "imagen")
    .flatMap(({ doc }) => asArray(at(doc, "spec", "template", "spec", "containers")))
    .flatMap((container) => asArray(at(container, "env")).map((e) => String(at(e, "name"))));
}

describe("the config sources", () => {
  it("are read: the variables found include the ones every app reads", () => {
    for (const name of ["PORT", "WORKER_PORT", "IMAGEN_BACKEND", "QUEUE_LEASE_MS", "WORKER_DRAIN_TIMEOUT_MS"]) {
      expect(known).toContain(name);
    }
  });
});

describe("every variable a deployment file sets exists in the code's config", () => {
  it("the workers' ConfigMap", () => {
    expect(Object.keys(configMap).filter((name) => !known.has(name))).toEqual([]);
  });

  it("the workers' and the kind pod's container env", () => {
    const names = [...containerEnvNames("k8s/workers"), ...containerEnvNames("k8s/local")];
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !known.has(name))).toEqual([]);
  });

  it("the API on Cloud Run", () => {
    expect(Object.keys(cloudRunEnv).length).toBeGreaterThan(0);
    expect(Object.keys(cloudRunEnv).filter((name) => !known.has(name))).toEqual([]);
  });

  it("docker-compose (plus the client libraries' emulator switches)", () => {
    for (const service of ["api", "worker"]) {
      const unknown = Object.keys(composeEnv(service)).filter(
        (name) => !known.has(name) && !EMULATOR_VARIABLES.includes(name),
      );
      expect(unknown, service).toEqual([]);
    }
  });
});

describe("every place that runs the GCP backend sets the required variables", () => {
  it("the ConfigMap", () => {
    expect(configMap.IMAGEN_BACKEND).toBe("gcp");
    for (const name of required) expect(configMap[name], name).toBeTruthy();
    expect(configMap.IMAGEN_EXECUTION_PROVIDER).toBe("cuda");
    expect(configMap.IMAGEN_GCP_CREATE_RESOURCES).toBe("false");
  });

  it("Cloud Run, with no embedded worker", () => {
    expect(cloudRunEnv.IMAGEN_BACKEND).toBe('"gcp"');
    expect(cloudRunEnv.IMAGEN_EMBEDDED_WORKER).toBe('"false"');
    for (const name of required) expect(cloudRunEnv[name], name).toBeDefined();
  });

  it("docker-compose", () => {
    for (const service of ["api", "worker"]) {
      const env = composeEnv(service);
      expect(env.IMAGEN_BACKEND).toBe("gcp");
      for (const name of required) expect(env[name], `${service} ${name}`).toBeTruthy();
      for (const name of EMULATOR_VARIABLES) expect(env[name], `${service} ${name}`).toBeTruthy();
    }
    expect(composeEnv("api").IMAGEN_EMBEDDED_WORKER).toBe("false");
  });
});
