import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ROOT, type Doc } from "./files.js";
import { kustomizeCommand } from "./render.js";

/**
 * Stand-ins for the cloud tools, so that `make` targets and Cloud Build scripts run here as an
 * operator would run them: each records its command line; `kubectl kustomize` renders with the real
 * kustomize and `kubectl apply -f -` keeps what it was sent; `terraform plan -out` writes the plan
 * file; `gcloud storage buckets describe` finds nothing (a new project). `kubectl get` prints
 * FAKE_KUBECTL_GET, so a test decides which objects exist.
 */
const SCRIPTS: Record<string, string> = {
  terraform: `
chdir=.
for arg in "$@"; do
  case $arg in
    -chdir=*) chdir=\${arg#-chdir=} ;;
    -out=*) : >"$chdir/\${arg#-out=}" ;;
  esac
done`,
  gcloud: `
[[ "$1 $2 $3" == "storage buckets describe" ]] && exit 1
exit 0`,
  docker: "exit 0",
  kubectl: `
[[ $1 == kustomize ]] && exec "$FAKE_KUSTOMIZE" build "$2"
if [[ " $* " == *" apply -f - "* ]]; then
  { cat; printf '\\n---\\n'; } >>"$FAKE_APPLIED"
elif [[ " $* " == *" get "* ]]; then
  printf '%s' "\${FAKE_KUBECTL_GET:-}"
fi
exit 0`,
};

export interface FakeTools {
  /** A folder laid out like the repo root (its files linked), where `make` may write plan files. */
  workdir: string;
  env: NodeJS.ProcessEnv;
  /** Every command line a stand-in was called with, in order ("terraform -chdir=terraform plan …"). */
  calls(): string[];
  /** The objects `kubectl apply -f -` was sent. */
  applied(): Doc[];
  appliedText(): string;
}

export function createFakeTools(): FakeTools {
  const dir = mkdtempSync(join(tmpdir(), "imagen-fake-tools-"));
  const bin = join(dir, "bin");
  const workdir = join(dir, "repo");
  mkdirSync(bin);
  mkdirSync(join(workdir, "terraform"), { recursive: true });
  for (const entry of ["Makefile", "k8s", "models", "docker", "cloudbuild.yaml", ".dockerignore"]) {
    if (existsSync(join(ROOT, entry))) symlinkSync(join(ROOT, entry), join(workdir, entry));
  }
  const log = join(dir, "calls.log");
  const applied = join(dir, "applied.yaml");
  writeFileSync(log, "");
  writeFileSync(applied, "");
  for (const [name, body] of Object.entries(SCRIPTS)) {
    const path = join(bin, name);
    writeFileSync(path, `#!/usr/bin/env bash\nprintf '%s\\n' "${name} $*" >>"$FAKE_LOG"\n${body}\n`);
    chmodSync(path, 0o755);
  }
  const { MAKEFLAGS: _flags, MAKELEVEL: _level, MFLAGS: _mflags, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    PATH: `${bin}:${process.env.PATH ?? ""}`,
    GIT_DIR: join(ROOT, ".git"),
    FAKE_LOG: log,
    FAKE_APPLIED: applied,
    FAKE_KUSTOMIZE: kustomizeCommand()[0],
  };
  const appliedText = () => readFileSync(applied, "utf8");
  return {
    workdir,
    env,
    calls: () => readFileSync(log, "utf8").split("\n").filter(Boolean),
    appliedText,
    applied: () =>
      parseAllDocuments(appliedText())
        .map((doc) => doc.toJS() as unknown)
        .filter((doc): doc is Doc => typeof doc === "object" && doc !== null),
  };
}

/** Runs a shell command line in the fake workdir; returns its output, throws with it on failure. */
export function runIn(tools: FakeTools, line: string, extraEnv: NodeJS.ProcessEnv = {}): string {
  return execFileSync("bash", ["-c", line], {
    cwd: tools.workdir,
    env: { ...tools.env, ...extraEnv },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** The repo's short commit as Cloud Build's SHORT_SHA is: 7 characters. */
export function headShortSha(): string {
  return execFileSync("git", ["rev-parse", "--short=7", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
}
