#!/usr/bin/env bash
# The Pacific manager out of cluster, as the chart's own ServiceAccount: for machines without a
# container runtime (the chart is installed with replicas=0). The token comes from the
# TokenRequest API, so the manager gets exactly the chart's RBAC and nothing of the admin's.
#
#   hack/manager.sh kubeconfig [FILE]  write a kubeconfig with a fresh SA token (default .cluster/manager.kubeconfig)
#   hack/manager.sh start              build, then run the manager in the background (idempotent)
#   hack/manager.sh stop               stop it (SIGTERM: it drains and releases its Lease)
#   hack/manager.sh status             say whether it runs
#   hack/manager.sh wait-ready         wait until the chart's RBAC and its kinds are in effect at the API server
#
# KUBECONFIG must point at the cluster (as the admin, to request the token).
#   PACIFIC_NAMESPACE (pacific-system), PACIFIC_SERVICE_ACCOUNT (pacific), PACIFIC_METRICS_ADDRESS (127.0.0.1:8080)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${PACIFIC_CLUSTER_DIR:-$root/.cluster}
ns=${PACIFIC_NAMESPACE:-pacific-system}
sa=${PACIFIC_SERVICE_ACCOUNT:-pacific}
addr=${PACIFIC_METRICS_ADDRESS:-127.0.0.1:8080}
pidfile=$state/manager.pid
logfile=$state/manager.log

# The kubectl built with the control plane first: a machine's own may be older, or not kubectl at all
# (one Debian image's reads no YAML from stdin).
k8s_bin=$(bash "$root/hack/build-tools.sh" --print-dir kubernetes)
[ -x "$k8s_bin/kubectl" ] && PATH="$k8s_bin:$PATH"
die() { echo "[manager] error: $*" >&2; exit 1; }
log() { echo "[manager] $*" >&2; }
command -v kubectl >/dev/null || die "no kubectl: run npm run tools"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && grep -q "controllers/main" "/proc/$(cat "$pidfile")/cmdline" 2>/dev/null; }

# A Lease (which the ServiceAccount may create) owned, with blockOwnerDeletion, by one object of each
# Pacific kind: its server dry run as the ServiceAccount passes once admission maps every kind.
owner_probe() {
  echo "{apiVersion: coordination.k8s.io/v1, kind: Lease, metadata: {name: pacific-owner-probe, namespace: kube-node-lease, ownerReferences: ["
  local sep=""
  for owner in vsphere.pacific.dev/v1alpha1:ESXiHost vsphere.pacific.dev/v1alpha1:SupervisorNamespace \
    vsphere.pacific.dev/v1alpha1:StorageClassBinding vsphere.pacific.dev/v1alpha1:VSpherePod \
    run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster cluster.x-k8s.io/v1beta1:Cluster \
    cluster.x-k8s.io/v1beta1:MachineDeployment cluster.x-k8s.io/v1beta1:Machine \
    controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane; do
    echo "$sep{apiVersion: ${owner%%:*}, kind: ${owner#*:}, name: probe, uid: 00000000-0000-0000-0000-000000000000, blockOwnerDeletion: true}"
    sep=","
  done
  echo "]}}"
}

# Right after `helm install`, wait until the chart's RBAC and admission's view of its kinds are in
# effect, rather than start with a burst of 403s that retries would absorb.
wait_in_effect() {
  local as="system:serviceaccount:$ns:$sa"
  for _ in $(seq 1 60); do
    kubectl auth can-i watch esxihosts.vsphere.pacific.dev --as "$as" >/dev/null 2>&1 &&
      kubectl auth can-i create leases -n kube-node-lease --as "$as" >/dev/null 2>&1 &&
      kubectl auth can-i update leases -n "$ns" --as "$as" >/dev/null 2>&1 && break
    sleep 0.5
  done
  # OwnerReferencesPermissionEnforcement (hardened clusters, and ours) resolves an owner's kind
  # through a discovery cache that lags a new CRD by seconds, refusing blockOwnerDeletion meanwhile.
  for _ in $(seq 1 60); do
    owner_probe | kubectl create --dry-run=server --as "$as" -f - >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "the chart's RBAC or kinds are not in effect after 30 s: $(owner_probe | kubectl create --dry-run=server --as "$as" -f - 2>&1)"
}

kubeconfig() {
  local out=${1:-$state/manager.kubeconfig}
  kubectl get serviceaccount -n "$ns" "$sa" >/dev/null 2>&1 ||
    die "no ServiceAccount $ns/$sa: install the chart first (helm upgrade --install pacific charts/pacific -n $ns --create-namespace --set replicas=0)"
  local token server ca
  token=$(kubectl create token -n "$ns" "$sa" --duration=24h)
  server=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')
  ca=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
  if [ -z "$ca" ]; then
    local ca_file
    ca_file=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority}')
    ca=$(base64 -w0 <"$ca_file")
  fi
  mkdir -p "$(dirname "$out")"
  umask 077
  cat >"$out" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: pacific
    cluster: {server: "$server", certificate-authority-data: "$ca"}
users:
  - name: system:serviceaccount:$ns:$sa
    user: {token: "$token"}
contexts:
  - name: pacific-manager
    context: {cluster: pacific, user: "system:serviceaccount:$ns:$sa", namespace: "$ns"}
current-context: pacific-manager
KUBECONFIG
  echo "$out"
}

case "${1:-}" in
  kubeconfig) kubeconfig "${2:-}" >/dev/null; echo "${2:-$state/manager.kubeconfig}" ;;
  wait-ready) wait_in_effect ;;
  start)
    if running; then log "already running (pid $(cat "$pidfile"))"; exit 0; fi
    cd "$root"
    [ -f dist/controllers/main.js ] && [ -z "$(find controllers -newer dist/controllers/main.js -name '*.ts' -print -quit)" ] ||
      npm run --silent build
    kc=$(kubeconfig)
    wait_in_effect
    mkdir -p "$state"
    # The Registry Service's settings, when hack/cluster.sh started the registry (hack/registry.sh).
    if [ -f "$state/registry/manager.env" ]; then set -a; source "$state/registry/manager.env"; set +a; fi
    setsid node dist/controllers/main.js --kubeconfig "$kc" --namespace "$ns" --bind-address "$addr" \
      --settings-configmap "${PACIFIC_SETTINGS_CONFIGMAP:-pacific-settings}" >>"$logfile" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 60); do
      curl -fsS "http://$addr/readyz" >/dev/null 2>&1 && { log "running (pid $(cat "$pidfile")), metrics on http://$addr/metrics, log $logfile"; exit 0; }
      running || die "the manager exited; last lines of $logfile:
$(tail -n 20 "$logfile")"
      sleep 0.5
    done
    die "not ready after 30 s; see $logfile" ;;
  stop)
    if running; then
      pid=$(cat "$pidfile"); kill -TERM "$pid"
      for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      log "stopped"
    fi
    rm -f "$pidfile" ;;
  status) if running; then echo "manager: running (pid $(cat "$pidfile"))"; else echo "manager: not running"; exit 1; fi ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
