#!/usr/bin/env bash
# Issue 14's big-context workload, stagecraft vs BuildKit (docker build) side by side, paired
# (A B, B A, ...; ratio = median of the per-pair ratios), plus the example's no-op rebuild.
# Needs the peer lab (dockerd 26 + buildx, busybox:latest; node-base:bookworm for the example row).
#   bench/bigctx-vs-buildkit.sh [RUNS] [COLD_RUNS]     results: bench/results/bigctx-vs-buildkit.md
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
COLD=${2:-3}
export STAGECRAFT_ROOT=${STAGECRAFT_ROOT:-/var/tmp/stagecraft-bench-root}
SC="$PWD/dist/stagecraft.js"   # the bin, as `stagecraft` runs once installed
OUT=$PWD/bench/results
mkdir -p "$OUT"
node scripts/bundle.mjs
docker info >/dev/null 2>&1 || { echo "no docker engine: run ../shared/lab/peer.sh first" >&2; exit 1; }
CTX=$(node bench/gen-bigctx.mjs)   # 1,000 x 1 MiB + 100,000 small files, FROM busybox / COPY src / RUN ls
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
docker save busybox:latest -o "$tmp/busybox.tar" && $SC load -i "$tmp/busybox.tar" >/dev/null
EX=examples/fruit-cost
CA="--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt"
$SC inspect node-base:bookworm >/dev/null 2>&1 || bash scripts/make-node-base.sh $SC
docker image inspect node-base:bookworm >/dev/null 2>&1 || docker import --change "ENV NODE_VERSION=$(node -p process.versions.node)" --change 'CMD ["node"]' "/var/tmp/stagecraft-cache/node-base-$(node -p process.version).tar" node-base:bookworm
P="node $PWD/bench/pairs.mjs --warmup 1"
DB="docker build --progress plain"
{
  echo "| row | stagecraft (median) | BuildKit (median) | stagecraft / BuildKit | min ratio | max ratio |"
  echo "|---|---:|---:|---:|---:|---:|"
  $P --runs "$COLD" --title "big context, cold (--no-cache)" "$SC build --no-cache --progress plain -t big:sc $CTX" "$DB --no-cache -t big:bk $CTX"
  $P --runs "$RUNS" --title "big context, no-op rebuild" "$SC build --progress plain -t big:sc $CTX" "$DB -t big:bk $CTX"
  $P --runs "$RUNS" --title "example (fruit-cost multi), no-op rebuild" "$SC build -t fc:sc -f $EX/Dockerfile.multi $CA --progress plain $EX" "$DB -t fc:bk -f $EX/Dockerfile.multi $CA $EX"
} | tee "$OUT/bigctx-vs-buildkit.md"
