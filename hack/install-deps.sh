#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for Pacific, and nothing it already has:
# Debian packages (openssl, curl, util-linux, prometheus, chromium for the UI tests, docker-registry and
# skopeo for the Registry Service), the npm packages, and the upstream
# binaries built from the Go module proxy (etcd, Kubernetes, helm; cached in ~/.cache/pacific).
# Needs Go and Node.js 20; Debian packages need root (or sudo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { echo "[deps] $*" >&2; }

command -v go >/dev/null || { say "Go is required to build the control plane from upstream sources"; exit 1; }
command -v node >/dev/null || { say "Node.js 20 is required"; exit 1; }

missing=()
for pair in openssl:openssl curl:curl setsid:util-linux prometheus:prometheus promtool:prometheus chromium:chromium \
  docker-registry:docker-registry skopeo:skopeo; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  # --no-install-recommends: Prometheus without its node exporter; the package's service is not started here.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# docker-registry's package ships a service on :5000 with its own config; Pacific runs the registry
# as its own process (hack/registry.sh), so the package's service stays off where systemd runs.
if [ -d /run/systemd/system ] && systemctl is-enabled docker-registry.service >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
fi

if ! [ -d node_modules ] || ! [ node_modules/.package-lock.json -nt package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash hack/build-tools.sh etcd kubernetes helm
