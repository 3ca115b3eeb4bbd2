#!/usr/bin/env bash
# `npm test`: sets up what is missing (npm packages, the upstream binaries, the local cluster),
# then runs the static checks, the unit and e2e suites and the chaos suite (local cluster only), and
# ends with one line `N passed, N failed`.
#   KUBECONFIG=...          run e2e against that cluster (kind or any) instead of the local one
#   PACIFIC_KEEP_CLUSTER=1  leave a cluster this script started running afterwards
#   PACIFIC_SKIP_CHAOS=1    leave the chaos suite out; PACIFIC_CHAOS_SEED / PACIFIC_CHAOS_OPS change it
#   extra arguments are passed to vitest (e.g. a file filter; the chaos suite then does not run)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
results="$root/test-results"
mkdir -p "$results"

[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund || exit 1

started_cluster=0
local_cluster=0
if [ -z "${KUBECONFIG:-}" ]; then
  local_cluster=1
  if ! bash hack/cluster.sh status >/dev/null 2>&1; then
    bash hack/cluster.sh up || { echo "0 passed, 1 failed"; exit 1; }
    started_cluster=1
  fi
  eval "$(bash hack/cluster.sh env)"
fi
cleanup() { [ $started_cluster = 1 ] && [ "${PACIFIC_KEEP_CLUSTER:-}" != 1 ] && bash hack/cluster.sh down; }
trap cleanup EXIT

status=0
checks_passed=0
checks_failed=0
check() { # name command... : a static check counts as one test in the closing line
  local name=$1; shift
  if "$@"; then checks_passed=$((checks_passed + 1)); echo "check ok: $name";
  else checks_failed=$((checks_failed + 1)); status=1; echo "check FAILED: $name"; fi
}
check "api types generated from crds/" node hack/gen-api-types.mjs --check
check "chart CRDs generated from crds/" node hack/gen-chart-crds.mjs --check
check "ClusterClasses and their admission policy generated from clusterclasses/" node hack/gen-clusterclasses.mjs --check
check "typecheck (tsc --noEmit)" npx tsc -p tsconfig.json --noEmit
check "lint and format (biome)" npx biome check --reporter=summary .
check "image layout: the built manager runs with production dependencies only" bash hack/image-check.sh

rm -f "$results/vitest.json"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest.json" "$@" || status=$?

# The chaos suite last: its faults stop and start the local control plane's processes, so it runs only
# on the local cluster, and not when a file filter was given. PACIFIC_SKIP_CHAOS=1 leaves it out.
if [ $local_cluster = 1 ] && [ $# = 0 ] && [ "${PACIFIC_SKIP_CHAOS:-}" != 1 ]; then
  check "chaos: ${PACIFIC_CHAOS_OPS:-200} operations under faults (seed ${PACIFIC_CHAOS_SEED:-2026}) converge in ≤ 90 s with 0 violations, guests included" \
    npm run --silent test:chaos -- --seed "${PACIFIC_CHAOS_SEED:-2026}" --ops "${PACIFIC_CHAOS_OPS:-200}"
fi

# One closing line for CI, counted from vitest's JSON report; a report that is missing is a failure.
node hack/test-summary.mjs "$results/vitest.json" "$checks_passed" "$checks_failed"
exit $status
