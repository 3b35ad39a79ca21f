#!/usr/bin/env bash
# Builds another commit's server beside this checkout, for a same-run baseline:
#   bench/build-baseline.sh COMMIT [DIR]   (DIR defaults to /tmp/ctscope-baseline)
# then, e.g.: BENCH_KERNEL_CLI=DIR/server/dist/cli.js npm run bench:kernel
# The baseline is a detached git worktree that uses this checkout's installed packages (no second npm ci);
# remove it with: git worktree remove --force DIR
set -euo pipefail
commit=${1:?usage: bench/build-baseline.sh COMMIT [DIR]}
dir=${2:-/tmp/ctscope-baseline}
top=$(git rev-parse --show-toplevel)
[ -d "$top/node_modules" ] || { echo "run npm ci in $top first" >&2; exit 1; }
if [ -e "$dir" ]; then
  echo "$dir exists: remove it first (git worktree remove --force $dir)" >&2
  exit 1
fi
git -C "$top" worktree add --detach "$dir" "$commit" >/dev/null
mkdir -p "$dir/node_modules/@ctscope"
# Every installed package but our own workspaces, which must be the baseline's.
for entry in "$top"/node_modules/* "$top"/node_modules/.bin; do
  name=$(basename "$entry")
  [ "$name" = "@ctscope" ] || ln -s "$entry" "$dir/node_modules/$name"
done
for ws in shared server web; do ln -s "$dir/$ws" "$dir/node_modules/@ctscope/$ws"; done
(cd "$dir" && npm run build -w @ctscope/shared -w @ctscope/server >/dev/null)
echo "baseline $(git -C "$dir" log --oneline -1) built: BENCH_KERNEL_CLI=$dir/server/dist/cli.js"
