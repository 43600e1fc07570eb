#!/usr/bin/env bash
# stagecraft vs BuildKit (docker build) side by side, same workloads, same base images, one run.
# Needs the peer lab (../shared/lab/peer.sh: dockerd 26 + buildx, busybox:latest).
# stagecraft runs as its installed bin runs (dist/stagecraft.js: the sh/JS polyglot), except in the
# last row, which shows `node dist/stagecraft.js` (a `build` there starts node twice: privatens.ts).
#   bench/build-vs-buildkit.sh [RUNS]      results: bench/results/build-vs-buildkit.md
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
export STAGECRAFT_ROOT=${STAGECRAFT_ROOT:-/var/tmp/stagecraft-bench-root}
SC="$PWD/dist/stagecraft.js"
W=$PWD/bench/workloads
OUT=$PWD/bench/results
mkdir -p "$OUT"
node scripts/bundle.mjs
docker info >/dev/null 2>&1 || { echo "no docker engine: run ../shared/lab/peer.sh first" >&2; exit 1; }

# Same base image in both tools: busybox from the lab's docker, loaded into stagecraft.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
docker save busybox:latest -o "$tmp/busybox.tar"
$SC load -i "$tmp/busybox.tar" >/dev/null

# Context: 500 source files.
ctx=$W/multistage
if [ ! -f "$ctx/src/f499.txt" ]; then
  mkdir -p "$ctx/src"
  for i in $(seq 0 499); do head -c 2000 /dev/urandom | base64 > "$ctx/src/f$i.txt"; done
fi

# The example app (examples/fruit-cost, multi-stage) on the offline node-base image, in both tools.
EX=examples/fruit-cost
CA="--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt"
$SC inspect node-base:bookworm >/dev/null 2>&1 || bash scripts/make-node-base.sh $SC
docker image inspect node-base:bookworm >/dev/null 2>&1 || docker import --change "ENV NODE_VERSION=$(node -p process.versions.node)" --change 'CMD ["node"]' "/var/tmp/stagecraft-cache/node-base-$(node -p process.version).tar" node-base:bookworm

# A base with 100k files for the snapshot-cost row.
if ! docker image inspect bench-bigroot:latest >/dev/null 2>&1 || ! $SC inspect bench-bigroot:latest >/dev/null 2>&1; then
  big=$tmp/bigroot; mkdir -p "$big/data"
  (cd "$big" && docker create --name bench-bb busybox:latest >/dev/null && docker export bench-bb | tar -x && docker rm bench-bb >/dev/null)
  for d in $(seq 0 99); do mkdir -p "$big/data/d$d"; (cd "$big/data/d$d" && seq 0 999 | sed 's/^/f/' | xargs touch); done
  tar --numeric-owner -C "$big" -cf "$tmp/bigroot.tar" .
  docker import "$tmp/bigroot.tar" bench-bigroot:latest >/dev/null
  $SC import "$tmp/bigroot.tar" bench-bigroot:latest >/dev/null
fi

# Each row: stagecraft and BuildKit run alternately (A B, B A, ...), so both see the same drift of
# this shared machine; the ratio column is the median of the per-pair ratios.
P="node $PWD/bench/pairs.mjs --runs $RUNS --warmup 1"
DB="docker build --progress plain"
{
  echo "| row | stagecraft (median) | BuildKit (median) | stagecraft / BuildKit | min ratio | max ratio |"
  echo "|---|---:|---:|---:|---:|---:|"
  $P --title "cold build (--no-cache)" \
    "$SC build --no-cache --progress plain -t bench-ms:sc $ctx" "$DB --no-cache -t bench-ms:bk $ctx"
  $P --title "no-op rebuild" \
    "$SC build --progress plain -t bench-ms:sc $ctx" "$DB -t bench-ms:bk $ctx"
  $P --title "rebuild after a source edit" --prepare "date +%s%N > $ctx/src/f0.txt" \
    "$SC build --progress plain -t bench-ms:sc $ctx" "$DB -t bench-ms:bk $ctx"
  $P --title "RUN snapshot on a 100k-file root (--no-cache)" \
    "$SC build --no-cache --progress plain -t bench-snap:sc $W/snapshot" "$DB --no-cache -t bench-snap:bk $W/snapshot"
  $P --title "example (fruit-cost multi), no-op rebuild" \
    "$SC build -t fc:sc -f $EX/Dockerfile.multi $CA --progress plain $EX" "$DB -t fc:bk -f $EX/Dockerfile.multi $CA $EX"
  $P --title "example no-op, as node dist/stagecraft.js" \
    "node $SC build -t fc:sc -f $EX/Dockerfile.multi $CA --progress plain $EX" "$DB -t fc:bk -f $EX/Dockerfile.multi $CA $EX"
} | tee "$OUT/build-vs-buildkit.md"

echo "results in $OUT"
