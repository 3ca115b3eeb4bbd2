#!/usr/bin/env bash
# `npm run up`: from a fresh clone to Pacific running with its samples, in one command.
#   1. installs what is missing (hack/install-deps.sh)
#   2. starts a cluster: kind where Docker runs, else the local control plane (hack/cluster.sh)
#   3. installs the chart with helm; with kind the manager runs in the cluster (image built and
#      loaded), else out of cluster as the chart's ServiceAccount (hack/manager.sh)
#   4. applies samples/ and waits until they are Ready, then says what runs and what to try
# `npm run down` undoes it. Idempotent: running it twice changes nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
ns=pacific-system

say "dependencies"
bash hack/install-deps.sh

mode=local
if [ "${PACIFIC_UP_MODE:-}" = kind ] || { [ -z "${PACIFIC_UP_MODE:-}" ] && command -v docker >/dev/null && docker info >/dev/null 2>&1; }; then
  mode=kind
fi

say "cluster ($mode)"
if [ $mode = kind ]; then KIND=1 bash hack/cluster.sh up; else bash hack/cluster.sh up; fi
eval "$(bash hack/cluster.sh env)"
echo "$mode" >"$root/.cluster/up-mode"

say "chart"
if [ $mode = kind ]; then
  docker build -t pacific:dev .
  kind load docker-image pacific:dev --name pacific
  helm upgrade --install pacific charts/pacific -n $ns --create-namespace \
    --set image.repository=pacific --set image.tag=dev --set image.pullPolicy=Never --wait --timeout 5m
  kubectl -n $ns rollout status deploy/pacific --timeout=3m
else
  # VIPs on loopback: each TKC's guest control plane runs as local processes on its VIP
  # (docs/guest-clusters.md); PACIFIC_GUEST_CLUSTERS=none keeps TKCs without one.
  helm upgrade --install pacific charts/pacific -n $ns --create-namespace --set replicas=0 \
    --set guestClusters.runtime="${PACIFIC_GUEST_CLUSTERS:-local}" --set network.vipPool=127.0.100.0/24 --wait
  say "manager (out of cluster, as ServiceAccount $ns/pacific)"
  bash hack/manager.sh start
fi

say "samples"
# In order; a sample may need what an earlier one makes (a VSpherePod the Supervisor Namespace's
# Namespace), so each is retried until the API server accepts it.
for f in samples/*.yaml; do
  for attempt in $(seq 1 60); do
    if out=$(kubectl apply -f "$f" 2>&1); then echo "$out"; break; fi
    [ "$attempt" = 60 ] && { echo "$out" >&2; exit 1; }
    sleep 1
  done
done
kubectl wait --for=condition=Ready esxihost --all --timeout=120s
kubectl wait --for=condition=Ready supervisornamespace --all --timeout=120s
kubectl wait --for=condition=Ready storageclassbinding --all --timeout=120s
kubectl wait --for=condition=Ready vspherepod --all -A --timeout=120s
kubectl -n dev-ns rollout status deployment/web --timeout=120s
kubectl wait --for=condition=Ready tanzukubernetescluster --all -A --timeout=300s
guest=""
if [ $mode = local ] && [ "${PACIFIC_GUEST_CLUSTERS:-local}" = local ]; then
  # The sample TKC's guest answers with its kubeconfig (TLS verified) once its six Nodes are Ready.
  guest=$root/.cluster/tkc-1.kubeconfig
  for attempt in $(seq 1 120); do
    kubectl -n dev-ns get secret tkc-1-kubeconfig -o jsonpath='{.data.value}' | base64 -d >"$guest" 2>/dev/null || true
    ready=$(kubectl --kubeconfig "$guest" get nodes --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l)
    [ "$ready" = 6 ] && break
    [ "$attempt" = 120 ] && { echo "the guest cluster tkc-1 did not answer with 6 Ready Nodes" >&2; exit 1; }
    sleep 1
  done
  kubectl --kubeconfig "$guest" get nodes
fi

say "running"
kubectl get esx,svns,scb,vpod,tkc -A
kubectl -n dev-ns get pods -o wide

# The web UI takes a Kubernetes bearer token: one of a ServiceAccount bound to cluster-admin, made for
# this local cluster only (a real admin logs in with their own token; the UI acts with it).
kubectl create serviceaccount -n $ns pacific-ui-admin --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl create clusterrolebinding pacific-ui-admin --clusterrole=cluster-admin \
  --serviceaccount=$ns:pacific-ui-admin --dry-run=client -o yaml | kubectl apply -f - >/dev/null
ui_token=$(kubectl create token -n $ns pacific-ui-admin --duration=24h)
cat <<EOF2

Pacific is up ($mode).

Web UI: $( [ $mode = local ] && echo "http://127.0.0.1:8080/ui/" || echo "kubectl -n $ns port-forward svc/pacific-metrics 8080, then http://127.0.0.1:8080/ui/")
  log in with this token (valid 24 h; a new one: kubectl create token -n $ns pacific-ui-admin):
  $ui_token

Try:
  export KUBECONFIG=$KUBECONFIG PATH=$(dirname "$(command -v kubectl)"):\$PATH
  kubectl get esx,svns,vpod,tkc -A                  # hosts, namespaces, vSphere Pods, clusters
  kubectl get cluster,kcp,md,machine,vm -n dev-ns   # the TKC's Cluster API graph and its VMs
  kubectl get nodes -l vsphere.pacific.dev/esxi-host  # ESXi hosts as Nodes
$( [ -n "$guest" ] && echo "  kubectl --kubeconfig $guest get nodes   # inside the guest cluster tkc-1 (from Secret dev-ns/tkc-1-kubeconfig)")
  kubectl patch esx esx-01 --type merge -p '{"spec":{"maintenanceMode":true}}'        # evacuate a host
  kubectl patch esx esx-02 --type merge -p '{"spec":{"simulation":{"heartbeats":false}}}'  # fail a host (HA after ~50 s)
$( [ $mode = local ] && echo "  curl -s 127.0.0.1:8080/metrics | grep ^pacific_esxihost   # metrics; log: .cluster/manager.log" || echo "  kubectl -n $ns port-forward svc/pacific-metrics 8080   # then curl -k -H \"Authorization: Bearer \$(kubectl -n $ns create token pacific)\" https://localhost:8080/metrics (bind pacific-metrics-reader)")
  npm run down                                      # stop everything
EOF2
