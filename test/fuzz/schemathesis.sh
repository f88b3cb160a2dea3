#!/usr/bin/env bash
# Fuzzes the running API against its own OpenAPI document with schemathesis (PyPI, pinned below).
#
# Builds the apps, writes the tiny test models (packages/testing) to a temp dir, and starts the
# built API (apps/api/dist/main.js) on 127.0.0.1 with its embedded worker, a temp data dir and one
# random API key; checks that /v1 refuses a request without the key; then runs `schemathesis run`
# on /openapi.json with the key and every check (--checks all): no 5xx (not_a_server_error), only
# documented status codes and content types, bodies and headers matching their response schemas,
# schema-violating input refused and schema-valid input accepted, undeclared methods answered 405,
# deleted resources gone and created ones readable, in four phases: the schema's examples, coverage
# (boundary and missing values), fuzzing, and stateful (calls chained through the ids and links
# that schemathesis infers). Settings it does not take on the command line are in
# schemathesis.toml. Any failure or warning fails the script; its last line sums the run up.
#
# By hand, from the repo root: `bash test/fuzz/schemathesis.sh`. Environment:
#   FUZZ_MAX_EXAMPLES  cases per operation and phase (default 50)
#   FUZZ_SEED          generation seed (default fixed, so that a run repeats; `random` for a new one)
#   FUZZ_TIME_LIMIT_S  hard limit on the schemathesis run in seconds (default 600)
#   FUZZ_REPORT_DIR    keep the JUnit and NDJSON reports and the replay cache there (`st replay <id>`)
#   IMAGEN_FUZZ_CACHE  where the virtual environment is kept between runs
# Needs python3 with venv, and PyPI on the first run only; the API is reached on loopback alone.
set -euo pipefail
cd "$(dirname "$0")/../.."

SCHEMATHESIS=4.32.5
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-50}
SEED=${FUZZ_SEED:-1150}
TIME_LIMIT_S=${FUZZ_TIME_LIMIT_S:-600}
CACHE=${IMAGEN_FUZZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagen-fuzz-tools}

install_schemathesis() {
  local want="schemathesis==$SCHEMATHESIS"
  [[ -f $CACHE/venv/installed && $(cat "$CACHE/venv/installed") == "$want" ]] && return
  python3 -m venv "$CACHE/venv"
  "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check "$want"
  echo "$want" >"$CACHE/venv/installed"
}

work=$(mktemp -d)
api_pid=
# shellcheck disable=SC2329 # run by the EXIT trap
cleanup() {
  if [[ -n $api_pid ]]; then
    kill "$api_pid" 2>/dev/null || true
    wait "$api_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

install_schemathesis
npx turbo run build --output-logs=errors-only >/dev/null
node --input-type=module -e "await (await import('@imagen/testing/stack')).writeTestModels(process.argv[1])" "$work"
port=$(node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
base="http://127.0.0.1:$port"
export FUZZ_API_SECRET FUZZ_STATE_DIR HYPOTHESIS_STORAGE_DIRECTORY
FUZZ_API_SECRET=$(openssl rand -hex 24)
FUZZ_STATE_DIR=${FUZZ_REPORT_DIR:-$work/report}
# Hypothesis, under schemathesis, keeps caches in ./.hypothesis unless told otherwise.
HYPOTHESIS_STORAGE_DIRECTORY=$FUZZ_STATE_DIR/hypothesis

# No rate limit: schemathesis sends far more requests a minute than a client would.
HOST=127.0.0.1 PORT=$port IMAGEN_DATA_DIR="$work/data" IMAGEN_EMBEDDED_WORKER=true \
  IMAGEN_MODEL_DIR="$work/models" IMAGEN_MODEL_MANIFEST="$work/manifest.json" \
  IMAGEN_API_KEYS="fuzz:$FUZZ_API_SECRET" RATE_LIMIT_PER_MIN=0 LOG_LEVEL="${LOG_LEVEL:-warn}" \
  node apps/api/dist/main.js >"$work/api.log" 2>&1 &
api_pid=$!
ready=
for _ in $(seq 200); do
  if [[ $(curl -s -o /dev/null -w '%{http_code}' "$base/readyz") == 200 ]]; then ready=1 && break; fi
  kill -0 "$api_pid" 2>/dev/null || break
  sleep 0.3
done
if [[ -z $ready ]]; then
  echo "the API did not become ready:" && cat "$work/api.log"
  exit 1
fi
# A direct check that the key is needed, besides schemathesis's own ignored_auth check on the bearer scheme.
unauthenticated=$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/jobs")
if [[ $unauthenticated != 401 ]]; then
  echo "GET /v1/jobs without the API key answered $unauthenticated, expected 401"
  exit 1
fi

seed_args=(--seed "$SEED")
[[ $SEED == random ]] && seed_args=()
status=0
timeout "$TIME_LIMIT_S" "$CACHE/venv/bin/schemathesis" --config-file test/fuzz/schemathesis.toml \
  run "$base/openapi.json" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$MAX_EXAMPLES" "${seed_args[@]}" \
  --report junit,ndjson --report-dir "$FUZZ_STATE_DIR" \
  --no-color || status=$?

if [[ $status -ne 0 ]]; then
  echo "--- API output (last 50 lines):"
  tail -n 50 "$work/api.log"
fi
"$CACHE/venv/bin/python" test/fuzz/summary.py "$FUZZ_STATE_DIR" "$status"
exit "$status"
