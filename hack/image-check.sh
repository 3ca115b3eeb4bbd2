#!/usr/bin/env bash
# Checks what the Dockerfile's runtime stage holds, without Docker: the compiled manager with only
# the production dependencies (npm ci --omit=dev) starts and parses its flags. Catches a runtime
# import of a devDependency, which `npm test` (with every dependency installed) cannot.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
npm run --silent build
app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
cp package.json package-lock.json "$app/"
mkdir -p "$app/dist"
cp -r dist/controllers "$app/dist/controllers"
cp -r dist/ui-assets "$app/dist/ui-assets"
(cd "$app" && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
# Loading main.js imports every module of the manager; with --help it exits before connecting.
out=$(cd "$app" && NODE_ENV=production node dist/controllers/main.js --help)
grep -q -- "--settings-configmap" <<<"$out" || { echo "unexpected --help output: $out" >&2; exit 1; }
# The web UI's bundle is in the image where the manager looks for it.
(cd "$app" && node --input-type=module -e '
  const { defaultAssetsDir } = await import("./dist/controllers/ui/setup.js");
  const { existsSync } = await import("node:fs");
  const dir = defaultAssetsDir();
  for (const f of ["index.html", "assets/app.js", "assets/app.css"])
    if (!existsSync(dir + f)) { console.error("UI asset missing: " + dir + f); process.exit(1); }
') || exit 1
echo "image layout ok: dist/controllers + production dependencies ($(ls "$app/node_modules" | wc -l) packages)"
