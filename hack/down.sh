#!/usr/bin/env bash
# `npm run down`: undoes `npm run up` — stops the local manager, then the cluster (kind or local),
# which takes the chart and the samples with it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=$(cat .cluster/up-mode 2>/dev/null || echo local)
bash hack/manager.sh stop || true
# Guest control planes (guestClusters.runtime=local) outlive the manager by design: stop exactly
# the pids in their pid files whose command line still names their guest's directory.
# TERM, then KILL what is still there after 10 s (an API server whose etcd went first may not exit).
guest_pids() {
  for pidfile in .cluster/guests/*/*/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile") dir=$(dirname "$pidfile")
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir"; then echo "$pid"; fi
  done
}
for pid in $(guest_pids); do kill -TERM "$pid" 2>/dev/null || true; done
for _ in $(seq 1 20); do [ -z "$(guest_pids)" ] && break; sleep 0.5; done
for pid in $(guest_pids); do kill -KILL "$pid" 2>/dev/null || true; done
if [ "$mode" = kind ]; then KIND=1 bash hack/cluster.sh down; else bash hack/cluster.sh down; fi
echo "pacific is down"
