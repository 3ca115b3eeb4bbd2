#!/usr/bin/env bash
# The Registry Service's registry on this machine: Debian's docker-registry (the CNCF distribution
# registry, hack/install-deps.sh installs it) as our own process on loopback, with our config: TLS
# from the local cluster's CA, token authentication against Pacific's token service (the manager),
# push notifications to the manager. hack/cluster.sh up/down call it; state lives in .cluster/registry/.
#
#   hack/registry.sh up                   make the certificates and config, start the registry (idempotent)
#   hack/registry.sh down                 stop it (the state goes with .cluster/)
#   hack/registry.sh status               say whether it runs
#   hack/registry.sh gc [PROJECT]         the registry's own garbage-collect; with PROJECT, first drop that
#                                         project's (already emptied) repository directories
#   hack/registry.sh start-open NAME PORT a second registry without auth (benchmarks), state .cluster/NAME/
#   hack/registry.sh stop-open NAME
#
#   PACIFIC_REGISTRY_PORT (25000), PACIFIC_TOKEN_PORT (18444): where the registry and the token service listen.
# The manager's settings for it are in .cluster/registry/manager.env (hack/manager.sh reads it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${PACIFIC_CLUSTER_DIR:-$root/.cluster}
dir=$state/registry
pki=$state/pki
REGISTRY_PORT=${PACIFIC_REGISTRY_PORT:-25000}
TOKEN_PORT=${PACIFIC_TOKEN_PORT:-18444}
SERVICE=pacific-registry
ISSUER=pacific-token-service

log() { echo "[registry] $*" >&2; }
die() { echo "[registry] error: $*" >&2; exit 1; }
bin() { command -v docker-registry || die "docker-registry is not installed: run bash hack/install-deps.sh"; }

pid_of() { # name: the pid of a registry we started, or nothing
  local f="$state/$1/registry.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "docker-registry serve"; then echo "$pid"; fi
}

sign() { # name subject extfile-lines... : a key and a certificate signed by the cluster's CA
  local n=$1 subj=$2; shift 2
  printf '%s\n' "$@" >"$dir/$n.ext"
  openssl req -newkey rsa:2048 -nodes -subj "$subj" -keyout "$dir/$n.key" -out "$dir/$n.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$n.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 3650 \
    -extfile "$dir/$n.ext" -out "$dir/$n.crt" 2>/dev/null
  rm -f "$dir/$n.csr" "$dir/$n.ext"
}

certs() {
  [ -f "$dir/certs.done" ] && return 0
  [ -f "$pki/ca.key" ] || die "no cluster CA in $pki: run hack/cluster.sh up"
  mkdir -p "$dir"
  log "certificates in $dir"
  local san="subjectAltName=IP:127.0.0.1,DNS:localhost"
  sign registry "/CN=pacific-registry" "extendedKeyUsage=serverAuth" "keyUsage=digitalSignature,keyEncipherment" "$san"
  sign token-service "/CN=pacific-token-service" "extendedKeyUsage=serverAuth" "keyUsage=digitalSignature,keyEncipherment" "$san"
  # The token signing key: its self-signed certificate is the registry's rootcertbundle; tokens name
  # it by its libtrust key ID (the registry has no JWKS before distribution v3).
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pacific-token-signer" \
    -keyout "$dir/token-signing.key" -out "$dir/token-signing.crt" 2>/dev/null
  # The bearer token the registry sends its notifications with.
  openssl rand -hex 24 >"$dir/notify-token"
  chmod 600 "$dir"/*.key "$dir/notify-token"
  touch "$dir/certs.done"
}

# config auth(yes|no) port storage-dir: the registry's config.yml on stdout
config() {
  local auth=$1 port=$2 storage=$3
  cat <<EOF
version: 0.1
log:
  level: warn
  accesslog: {disabled: true}
storage:
  filesystem: {rootdirectory: $storage}
  delete: {enabled: true}
  cache: {blobdescriptor: inmemory}
http:
  addr: 127.0.0.1:$port
  tls: {certificate: $dir/registry.crt, key: $dir/registry.key}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver: {enabled: true, interval: 10s, threshold: 3}
EOF
  [ "$auth" = yes ] || return 0
  cat <<EOF
auth:
  token:
    realm: https://127.0.0.1:$TOKEN_PORT/service/token
    service: $SERVICE
    issuer: $ISSUER
    rootcertbundle: $dir/token-signing.crt
notifications:
  endpoints:
    - name: pacific
      url: https://127.0.0.1:$TOKEN_PORT/service/notifications
      headers:
        Authorization: [Bearer $(cat "$dir/notify-token")]
      timeout: 2s
      threshold: 3
      backoff: 2s
      ignore:
        actions: [pull]
EOF
}

start() { # name config-file
  local n=$1 cfg=$2
  [ -n "$(pid_of "$n")" ] && return 0
  # SSL_CERT_FILE: the notifications' client trusts the cluster's CA (the manager's certificate).
  SSL_CERT_FILE=$pki/ca.crt setsid "$(bin)" serve "$cfg" >>"$state/$n/registry.log" 2>&1 </dev/null &
  echo $! >"$state/$n/registry.pid"
  local port; port=$(sed -n 's/^  addr: 127.0.0.1:\([0-9]*\)$/\1/p' "$cfg")
  for _ in $(seq 1 100); do
    curl -s -o /dev/null --cacert "$pki/ca.crt" "https://127.0.0.1:$port/v2/" && { log "$n serving on https://127.0.0.1:$port"; return 0; }
    kill -0 "$(cat "$state/$n/registry.pid")" 2>/dev/null || break
    sleep 0.1
  done
  die "$n did not start; last lines of $state/$n/registry.log:
$(tail -n 15 "$state/$n/registry.log")"
}

stop() { # name
  local pid; pid=$(pid_of "$1")
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    log "stopped $1 (pid $pid)"
  fi
  rm -f "$state/$1/registry.pid"
}

up() {
  bin >/dev/null
  certs
  mkdir -p "$dir/storage"
  config yes "$REGISTRY_PORT" "$dir/storage" >"$dir/config.yml"
  cat >"$dir/manager.env" <<EOF
PACIFIC_REGISTRY_HOST=127.0.0.1:$REGISTRY_PORT
PACIFIC_REGISTRY_CA_FILE=$pki/ca.crt
PACIFIC_REGISTRY_SERVICE=$SERVICE
PACIFIC_REGISTRY_ISSUER=$ISSUER
PACIFIC_REGISTRY_SIGNING_KEY_FILE=$dir/token-signing.key
PACIFIC_REGISTRY_SIGNING_CERT_FILE=$dir/token-signing.crt
PACIFIC_REGISTRY_TOKEN_ADDRESS=127.0.0.1:$TOKEN_PORT
PACIFIC_REGISTRY_TOKEN_TLS_CERT_FILE=$dir/token-service.crt
PACIFIC_REGISTRY_TOKEN_TLS_KEY_FILE=$dir/token-service.key
PACIFIC_REGISTRY_NOTIFY_TOKEN_FILE=$dir/notify-token
PACIFIC_REGISTRY_GC_COMMAND="bash $root/hack/registry.sh gc"
EOF
  start registry "$dir/config.yml"
}

gc() { # [project]
  local project=${1:-}
  if [ -n "$project" ]; then
    [[ $project =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "not a project name: $project"
    # The manager has deleted the project's manifests through the registry API; the registry keeps
    # the repository directories (and lists them in _catalog) until they are removed from storage.
    rm -rf "$dir/storage/docker/registry/v2/repositories/$project"
  fi
  # Nothing ever pushed: no repositories directory, and garbage-collect fails on its absence.
  [ -d "$dir/storage/docker/registry/v2/repositories" ] || return 0
  "$(bin)" garbage-collect "$dir/config.yml" 2>&1 | tail -n 1 >&2
}

case ${1:-status} in
  up) up ;;
  down) stop registry ;;
  status) if [ -n "$(pid_of registry)" ]; then echo "registry: running (pid $(pid_of registry))"; else echo "registry: not running"; exit 1; fi ;;
  gc) gc "${2:-}" ;;
  start-open)
    n=${2:?name}; port=${3:?port}
    certs; mkdir -p "$state/$n/storage"
    config no "$port" "$state/$n/storage" >"$state/$n/config.yml"
    start "$n" "$state/$n/config.yml" ;;
  stop-open) stop "${2:?name}"; rm -rf "${state:?}/${2:?}" ;;
  *) sed -n '2,17p' "$0"; exit 2 ;;
esac
