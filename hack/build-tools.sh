#!/usr/bin/env bash
# Builds (once) the upstream binaries Pacific needs, from the Go module proxy:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, helm [, kwok]
# into $PACIFIC_CACHE/<tool>-<version>/ (default ~/.cache/pacific), outside the repository.
# A tool whose directory already holds binaries reporting the pinned version is not rebuilt.
# Usage: hack/build-tools.sh [kubernetes] [etcd] [helm] [kwok]   (default: all but kwok)
# Prints nothing but progress on stderr; `hack/build-tools.sh --print-dir TOOL` prints that tool's bin dir
# (TOOL: kubernetes, etcd, helm or kwok) and builds nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
cache=${PACIFIC_CACHE:-$HOME/.cache/pacific}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly

dir_of() {
  case $1 in
    kubernetes) echo "$cache/kubernetes-$KUBERNETES_VERSION" ;;
    etcd) echo "$cache/etcd-$ETCD_VERSION" ;;
    helm) echo "$cache/helm-$HELM_VERSION" ;;
    kwok) echo "$cache/kwok-$KWOK_VERSION" ;;
    *) echo "unknown tool $1" >&2; exit 2 ;;
  esac
}

if [ "${1:-}" = "--print-dir" ]; then
  [ $# = 2 ] || { echo "usage: hack/build-tools.sh --print-dir kubernetes|etcd|helm|kwok" >&2; exit 2; }
  dir_of "$2"; exit 0
fi

command -v go >/dev/null || { echo "error: Go is not installed; Pacific builds Kubernetes from the Go module proxy and needs Go >= 1.26 (Debian: apt-get install golang, or the toolchain from go.dev)." >&2; exit 1; }

log() { echo "[build-tools] $*" >&2; }

check_proxy() {
  if ! (cd "$here/tools/etcd" && timeout 60 go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1); then
    echo "error: cannot reach the Go module proxy ($(go env GOPROXY)); Pacific builds its control plane from it. Check GOPROXY and the network." >&2
    exit 1
  fi
}

# reports_version <binary> <args...> : true when the binary prints the pinned version
reports_version() { local want=$1; shift; [ -x "$1" ] && "$@" 2>/dev/null | grep -q -- "$want"; }

build_kubernetes() {
  local out; out=$(dir_of kubernetes)
  if reports_version "$KUBERNETES_VERSION" "$out/kube-apiserver" --version \
     && reports_version "$KUBERNETES_VERSION" "$out/kubectl" version --client \
     && [ -x "$out/kube-controller-manager" ] && [ -x "$out/kube-scheduler" ]; then
    log "kubernetes $KUBERNETES_VERSION cached in $out"; return; fi
  local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  mkdir -p "$out.tmp"
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    log "building $cmd $KUBERNETES_VERSION (this is the slow part: ~5 min each on 2 cores)"
    (cd "$here/tools/kubernetes" && go build -trimpath -ldflags "$ld" -o "$out.tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd")
  done
  rm -rf "$out"; mv "$out.tmp" "$out"
}

build_simple() { # tool version version-flag package [ldflags]
  local tool=$1 ver=$2 vflag=$3 pkg=$4 ld=${5:-"-s -w"} out; out=$(dir_of "$tool")
  if reports_version "${ver#v}" "$out/$tool" "$vflag"; then
    log "$tool $ver cached in $out"; return; fi
  log "building $tool $ver"
  mkdir -p "$out.tmp"
  (cd "$here/tools/$tool" && go build -trimpath -ldflags "$ld" -o "$out.tmp/$tool" "$pkg")
  rm -rf "$out"; mv "$out.tmp" "$out"
}

# kwok's default stages (kwokctl's "fast" profile: node-initialize, node-heartbeat-with-lease and
# the pod fast stages), taken from the kwok module's own source, beside the binary.
kwok_stages() {
  local out; out=$(dir_of kwok)/stages
  [ -f "$out/pod-delete.yaml" ] && return
  local src; src=$(cd "$here/tools/kwok" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/kustomize/stage
  mkdir -p "$out"
  cp "$src"/node/fast/node-initialize.yaml "$src"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
     "$src"/pod/fast/pod-ready.yaml "$src"/pod/fast/pod-complete.yaml "$src"/pod/fast/pod-delete.yaml "$out/"
  chmod 644 "$out"/*.yaml
}

tools=("$@"); [ ${#tools[@]} -gt 0 ] || tools=(etcd kubernetes helm)
check_proxy
for t in "${tools[@]}"; do
  case $t in
    kubernetes) build_kubernetes ;;
    etcd) build_simple etcd "$ETCD_VERSION" --version go.etcd.io/etcd/server/v3 ;;
    helm)
      minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
      build_simple helm "$HELM_VERSION" version helm.sh/helm/v3/cmd/helm \
        "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor" ;;
    kwok)
      build_simple kwok "$KWOK_VERSION" --version sigs.k8s.io/kwok/cmd/kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
      kwok_stages ;;
    *) echo "unknown tool $t" >&2; exit 2 ;;
  esac
done
