#!/bin/sh
# Lays out netcheck as it runs in its container image, in DEST: exactly the files `npm pack` publishes (dist,
# the bundled agent, scenarios, deploy, package.json, README) plus the production dependencies pinned by package-lock.json.
# Both deploy/image/Containerfile and the test cluster's image builder (test/cluster-kit/images.ts) call this,
# so the image a test runs holds what the image users build holds. Needs `npm run build` first (dist/).
#   sh deploy/image/assemble-app.sh DEST
set -eu
dest=${1:?usage: assemble-app.sh DEST}
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$repo/dist/bin/main.js" ] || { echo "assemble-app.sh: $repo/dist is not built; run \`npm run build\` first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$repo" && npm pack --silent --pack-destination "$work" >/dev/null)
mkdir -p "$dest"
tar -xzf "$work"/kube-netcheck-*.tgz -C "$dest" --strip-components=1
cp "$repo/package-lock.json" "$dest/package-lock.json"
# --ignore-scripts: no dependency of netcheck needs an install script; --prefer-offline: npm's cache first.
(cd "$dest" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
rm "$dest/package-lock.json"
