import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ROOT, type Doc } from "./files.js";

/**
 * The kustomize that scripts/validate-infra.sh installs (same cache folder and knob), else one on
 * PATH: the policy tests read what `kustomize build` renders, as `make k8s-deploy-*` applies it.
 */
export function kustomizeCommand(): string[] {
  const cache =
    process.env.IMAGEN_INFRA_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "imagen-infra-tools");
  const candidates = [
    join(cache, "bin", "kustomize"),
    ...(process.env.PATH ?? "").split(":").map((d) => join(d, "kustomize")),
  ];
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return [path, "build"];
    } catch {
      // not this one
    }
  }
  throw new Error("no kustomize found: run scripts/validate-infra.sh (npm run test:infra) once to install it");
}

const cache = new Map<string, Doc[]>();

/** The text `kustomize build <dir>` renders, placeholders (`__PROJECT_ID__` …) left in. */
export function renderedText(dir: string): string {
  const [command, ...args] = kustomizeCommand();
  return execFileSync(command!, [...args, join(ROOT, dir)], { encoding: "utf8" });
}

/** The objects `kustomize build <dir>` renders. */
export function rendered(dir: string): Doc[] {
  let docs = cache.get(dir);
  if (!docs) {
    docs = parseAllDocuments(renderedText(dir))
      .map((doc) => doc.toJS() as unknown)
      .filter((doc): doc is Doc => typeof doc === "object" && doc !== null);
    cache.set(dir, docs);
  }
  return docs;
}

/** What `make k8s-deploy-all` applies: base, workers and autoscaling, rendered. */
export const DEPLOYED_DIRS = ["k8s/base", "k8s/workers", "k8s/autoscaling"] as const;
