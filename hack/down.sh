#!/usr/bin/env bash
# `npm run down`: undoes `npm run up` — stops the local manager, then the cluster (kind or local),
# which takes the chart and the samples with it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=$(cat .cluster/up-mode 2>/dev/null || echo local)
bash hack/manager.sh stop || true
if [ "$mode" = kind ]; then KIND=1 bash hack/cluster.sh down; else bash hack/cluster.sh down; fi
echo "pacific is down"
