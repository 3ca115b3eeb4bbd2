#!/usr/bin/env bash
# The local Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager and
# kube-scheduler built from upstream sources (hack/build-tools.sh), run as processes on loopback.
#
#   hack/cluster.sh up                 start what is not running, wait until ready (idempotent)
#   hack/cluster.sh down               stop exactly the processes we started, remove all state
#   hack/cluster.sh status             say what runs
#   hack/cluster.sh stop <component>   stop one component, keep state (fault injection in tests)
#   hack/cluster.sh env                print KUBECONFIG and the binary directories (kubectl, etcd, helm) as shell exports
#
# KIND=1 hack/cluster.sh up|down uses kind instead (needs Docker and kind; same kubeconfig path).
# State lives in .cluster/ (git-ignored): pki/, etcd data, <component>.log, <component>.pid, kubeconfig.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${PACIFIC_CLUSTER_DIR:-$root/.cluster}
export KUBECONFIG_PATH="$state/kubeconfig"

ETCD_PORT=${PACIFIC_ETCD_PORT:-23790}
ETCD_PEER_PORT=${PACIFIC_ETCD_PEER_PORT:-23800}
APISERVER_PORT=${PACIFIC_APISERVER_PORT:-16443}
KCM_PORT=${PACIFIC_KCM_PORT:-20257}
SCHEDULER_PORT=${PACIFIC_SCHEDULER_PORT:-20259}
SERVICE_CIDR=10.0.0.0/24
SERVICE_IP=10.0.0.1
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler)

log() { echo "[cluster] $*" >&2; }
die() { echo "[cluster] error: $*" >&2; exit 1; }

k8s_bin=$(bash "$root/hack/build-tools.sh" --print-dir kubernetes)
etcd_bin=$(bash "$root/hack/build-tools.sh" --print-dir etcd)
helm_bin=$(bash "$root/hack/build-tools.sh" --print-dir helm)

# ---------- processes ----------
pid_of() { # prints the pid of a running component we started, or nothing
  local f="$state/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  # Guard against pid reuse: the process must still be our binary.
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$1"; then echo "$pid"; fi
}

stop_component() {
  local c=$1 pid
  pid=$(pid_of "$c")
  if [ -n "$pid" ]; then
    kill -CONT "$pid" 2>/dev/null || true # a stopped (SIGSTOP) process cannot handle SIGTERM
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    log "stopped $c (pid $pid)"
  fi
  rm -f "$state/$c.pid"
}

start_component() { # name binary args...
  local c=$1; shift
  [ -n "$(pid_of "$c")" ] && return 0
  log "starting $c"
  # setsid: the component outlives the shell that started it and gets no terminal signals.
  setsid "$@" >>"$state/$c.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$state/$c.pid"
  # Until the forked shell has exec'd the binary, /proc/<pid>/cmdline is still this script's, and
  # pid_of would call a component that is merely starting "exited" (seen on a busy machine).
  for _ in $(seq 1 100); do
    [ -n "$(pid_of "$c")" ] || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.05
  done
}

# ---------- PKI (openssl): one CA, a serving cert, a client cert per identity ----------
pki() {
  local d="$state/pki"
  [ -f "$d/done" ] && return 0
  mkdir -p "$d"
  log "generating certificates in $d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pacific-local-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  sign "$d" apiserver "/CN=kube-apiserver" serverAuth \
    "subjectAltName=IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign "$d" admin "/O=system:masters/CN=pacific-admin" clientAuth
  sign "$d" kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
  sign "$d" kube-scheduler "/CN=system:kube-scheduler" clientAuth
  touch "$d/done"
}

sign() { # dir name subject usage [extension]
  local d=$1 n=$2 subj=$3 usage=$4 ext=${5:-}
  local extfile="$d/$n.ext"
  { echo "extendedKeyUsage=$usage"; echo "keyUsage=digitalSignature,keyEncipherment"; [ -n "$ext" ] && echo "$ext"; } >"$extfile"
  openssl req -newkey rsa:2048 -nodes -subj "$subj" -keyout "$d/$n.key" -out "$d/$n.csr" 2>/dev/null
  openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
    -extfile "$extfile" -out "$d/$n.crt" 2>/dev/null
  rm -f "$d/$n.csr" "$extfile"
}

kubeconfig() { # identity file
  local n=$1 f=$2 d="$state/pki"
  cat >"$f" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: pacific
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $d/ca.crt
users:
- name: $n
  user:
    client-certificate: $d/$n.crt
    client-key: $d/$n.key
contexts:
- name: pacific
  context: {cluster: pacific, user: $n}
current-context: pacific
EOF
}

# ---------- readiness ----------
api_get() { # path -> body (admin client cert)
  curl -sf --max-time 3 --cacert "$state/pki/ca.crt" --cert "$state/pki/admin.crt" --key "$state/pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT$1"
}

check_alive() { # the components started so far must still run
  local c
  for c in "$@"; do
    [ -n "$(pid_of "$c")" ] || die "$c exited; last lines of $state/$c.log:
$(tail -n 15 "$state/$c.log")"
  done
}

# The controller-manager and scheduler need the RBAC policy the API server bootstraps, so they start
# only once /readyz is ok; the default ServiceAccount then proves the controller-manager works.
wait_apiserver() {
  local deadline=$((SECONDS + ${PACIFIC_CLUSTER_TIMEOUT:-120}))
  until [ "$(api_get /readyz 2>/dev/null)" = "ok" ]; do
    [ $SECONDS -lt $deadline ] || die "kube-apiserver not ready after ${PACIFIC_CLUSTER_TIMEOUT:-120}s; see $state/kube-apiserver.log"
    check_alive etcd kube-apiserver
    sleep 0.2
  done
}

wait_controllers() {
  local deadline=$((SECONDS + ${PACIFIC_CLUSTER_TIMEOUT:-120}))
  until api_get /api/v1/namespaces/default/serviceaccounts/default >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "no default ServiceAccount after ${PACIFIC_CLUSTER_TIMEOUT:-120}s; see $state/kube-controller-manager.log"
    check_alive "${COMPONENTS[@]}"
    sleep 0.2
  done
}

# ---------- commands ----------
up() {
  [ -x "$k8s_bin/kube-apiserver" ] && [ -x "$etcd_bin/etcd" ] || bash "$root/hack/build-tools.sh" etcd kubernetes
  mkdir -p "$state"
  pki
  local d="$state/pki"
  kubeconfig admin "$state/kubeconfig"
  kubeconfig kube-controller-manager "$state/kube-controller-manager.kubeconfig"
  kubeconfig kube-scheduler "$state/kube-scheduler.kubeconfig"
  cat >"$state/kube-scheduler.yaml" <<EOF
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $state/kube-scheduler.kubeconfig
leaderElection:
  leaderElect: false
EOF

  start_component etcd "$etcd_bin/etcd" --name pacific --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "pacific=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn

  # OwnerReferencesPermissionEnforcement as on hardened clusters: setting blockOwnerDeletion needs
  # update on the owner's finalizers, so the chart's RBAC is tested for it.
  start_component kube-apiserver "$k8s_bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" --advertise-address 127.0.0.1 \
    --endpoint-reconciler-type none \
    --tls-cert-file "$d/apiserver.crt" --tls-private-key-file "$d/apiserver.key" \
    --client-ca-file "$d/ca.crt" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins OwnerReferencesPermissionEnforcement \
    --service-account-key-file "$d/sa.pub" --service-account-signing-key-file "$d/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --allow-privileged=true --profiling="${PACIFIC_APISERVER_PROFILING:-false}"
  # PACIFIC_APISERVER_PROFILING=true serves /debug/pprof (docs/performance.md: where the API server's CPU goes).
  wait_apiserver

  # --resource-quota-sync-period: a quota made before kube-controller-manager discovered a counted
  # custom kind (count/vspherepods…, right after the CRDs are installed) gets its `used` only at the
  # next full resync (5 min by default); until then the API server refuses that kind ("status
  # unknown for quota"). 30 s keeps a fresh local cluster usable within a minute.
  start_component kube-controller-manager "$k8s_bin/kube-controller-manager" \
    --resource-quota-sync-period 30s \
    --kubeconfig "$state/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$state/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$state/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
    --service-account-private-key-file "$d/sa.key" --root-ca-file "$d/ca.crt" \
    --cluster-signing-cert-file "$d/ca.crt" --cluster-signing-key-file "$d/ca.key" \
    --use-service-account-credentials=true --controllers '*' --leader-elect=false --profiling=false

  start_component kube-scheduler "$k8s_bin/kube-scheduler" --config "$state/kube-scheduler.yaml" \
    --authentication-kubeconfig "$state/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$state/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --profiling=false

  wait_controllers
  # The Registry Service's registry (Debian's docker-registry), when installed.
  if command -v docker-registry >/dev/null; then bash "$root/hack/registry.sh" up
  else log "docker-registry is not installed (hack/install-deps.sh): no Registry Service"; fi
  log "ready: KUBECONFIG=$state/kubeconfig ($(api_get /version | sed -n 's/.*"gitVersion": "\([^"]*\)".*/\1/p'))"
}

down() {
  local c
  bash "$root/hack/registry.sh" down || true
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop_component "${COMPONENTS[$i]}"; done
  rm -rf "$state"
  log "down; state removed"
}

status() {
  local c pid running=0
  for c in "${COMPONENTS[@]}"; do
    pid=$(pid_of "$c")
    if [ -n "$pid" ]; then echo "$c: running (pid $pid)"; running=$((running + 1)); else echo "$c: not running"; fi
  done
  if [ -f "$state/pki/admin.crt" ] && [ "$(api_get /readyz 2>/dev/null)" = "ok" ]; then
    echo "kube-apiserver /readyz: ok at https://127.0.0.1:$APISERVER_PORT"
    echo "KUBECONFIG=$state/kubeconfig"
  else
    echo "kube-apiserver /readyz: not answering"
  fi
  bash "$root/hack/registry.sh" status 2>/dev/null || true
  [ "$running" -eq "${#COMPONENTS[@]}" ]
}

kind_cmd() {
  command -v docker >/dev/null && docker info >/dev/null 2>&1 || die "KIND=1 needs a running Docker engine"
  command -v kind >/dev/null || die "KIND=1 needs kind on PATH (go install sigs.k8s.io/kind@latest)"
  case $1 in
    up)
      mkdir -p "$state"
      kind get clusters 2>/dev/null | grep -qx pacific || kind create cluster --name pacific --kubeconfig "$state/kubeconfig" --wait 120s
      kind get kubeconfig --name pacific >"$state/kubeconfig"
      log "kind cluster pacific ready: KUBECONFIG=$state/kubeconfig" ;;
    down) kind delete cluster --name pacific; rm -rf "$state" ;;
    status) kind get clusters | grep -x pacific ;;
  esac
}

cmd=${1:-status}
if [ "${KIND:-}" = "1" ] && [[ $cmd =~ ^(up|down|status)$ ]]; then kind_cmd "$cmd"; exit; fi
case $cmd in
  up) up ;;
  down) down ;;
  status) status ;;
  stop) [ -n "${2:-}" ] || die "usage: cluster.sh stop <component>"; stop_component "$2" ;;
  pid) pid_of "${2:?component}" ;;
  env) echo "export KUBECONFIG=$state/kubeconfig PATH=$k8s_bin:$etcd_bin:$helm_bin:\$PATH" ;;
  *) die "usage: cluster.sh up|down|status|stop <component>|pid <component>|env" ;;
esac
