#!/usr/bin/env bash
# Container start-to-exit for a busybox `true`: stagecraft vs `runc run` on the same OCI bundle.
# Two tables: (1) in-process executor vs runc (bench/container-start.ts), (2) whole commands with
# hyperfine: `runc run`, `stagecraft run --rm busybox true` (CLI start + store + overlay mount +
# executor + cleanup), the same with --runtime runc (and --runtime crun when crun is installed), and
# `stagecraft --version` (node start alone).
#   bench/container-start.sh [RUNS]      results: bench/results/container-start*.md
# Needs root, runc (Debian's), busybox-static; crun optional; hyperfine is installed when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
OUT=$PWD/bench/results
mkdir -p "$OUT"
export STAGECRAFT_ROOT=${STAGECRAFT_ROOT:-/var/tmp/stagecraft-bench-root}
BUNDLE=${BUNDLE:-/var/tmp/stagecraft-bench-bundle}
SC="node $PWD/dist/stagecraft.js"
node scripts/bundle.mjs
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null

npx tsx bench/container-start.ts "$RUNS" "$BUNDLE" | tee "$OUT/container-start-executor.md"

# the same busybox rootfs as an image in the store
tar --numeric-owner -C "$BUNDLE/rootfs" -cf /tmp/sc-bench-busybox.tar .
$SC import /tmp/sc-bench-busybox.tar busybox:latest >/dev/null
rm -f /tmp/sc-bench-busybox.tar

CRUN=()
command -v crun >/dev/null && CRUN=(-n 'stagecraft run --rm --runtime crun busybox true' "$SC run --rm --runtime crun busybox true")

hyperfine --warmup 2 --runs "$RUNS" -N --export-markdown "$OUT/container-start-cli.md" \
  -n 'runc run (bundle)' "runc run --bundle $BUNDLE sc-bench-cli" \
  -n 'stagecraft run --rm busybox true' "$SC run --rm busybox true" \
  -n 'stagecraft run --rm --runtime runc busybox true' "$SC run --rm --runtime runc busybox true" \
  "${CRUN[@]}" \
  -n 'stagecraft --version (node startup only)' "$SC --version"
