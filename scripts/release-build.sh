#!/usr/bin/env bash
# Assemble ctscope's release tree (built dists + production node_modules) in OUT_DIR; the Docker image's runtime stage is exactly this tree.
# Usage: scripts/release-build.sh OUT_DIR   (after `npm run build`; OUT_DIR must be absent or empty)
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1

for f in shared/dist/index.js server/dist/cli.js web/dist/index.html; do
  if [ ! -f "$root/$f" ]; then
    echo "release-build: $root/$f is missing: run \`npm run build\` first" >&2
    exit 1
  fi
done
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "release-build: $out is not empty" >&2
  exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
cp "$root/package.json" "$root/package-lock.json" "$out/"
for ws in shared server web; do
  mkdir -p "$out/$ws"
  cp "$root/$ws/package.json" "$out/$ws/"
  cp -R "$root/$ws/dist" "$out/$ws/dist"
done
# the committed bin entry that loads server/dist/cli.js (npm links it as node_modules/.bin/ctscope)
cp -R "$root/server/bin" "$out/server/bin"

# Only the server's and shared's dependencies: web's (React, Recharts) are bundled into web/dist by vite.
# --prefer-offline: the npm cache is warm from the build's own `npm ci`, so this mostly unpacks cached tarballs.
cd "$out"
npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline -w @ctscope/shared -w @ctscope/server
