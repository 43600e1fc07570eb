#!/usr/bin/env bash
# A 1 GB single-layer export: stagecraft's parallel gzip and zstd (what push / save / --output run
# on a layer the store keeps uncompressed) against single-core GNU `gzip -6`, paired A B A B.
#   bench/export-vs-gzip.sh [RUNS]    (input: the tar of the big-context workload's 1,000 x 1 MiB files)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
CTX=$(node bench/gen-bigctx.mjs)
IN=/var/tmp/stagecraft-bench-1g.tar
[ -s "$IN" ] || tar --numeric-owner -C "$CTX/src" -cf "$IN" big
OUT=$(mktemp -d /var/tmp/sc-export-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
P="node bench/pairs.mjs --runs $RUNS --warmup 0"
echo "| row | stagecraft (median) | gzip -6 (median) | stagecraft / gzip | min ratio | max ratio |"
echo "|---|---:|---:|---:|---:|---:|"
$P --title "gzip level 6, parallel (all cores)" "npx tsx bench/compress-file.ts gzip $IN $OUT/a.gz" "gzip -6 -c $IN > $OUT/b.gz"
$P --title "zstd level 3, workers" "npx tsx bench/compress-file.ts zstd $IN $OUT/a.zst" "gzip -6 -c $IN > $OUT/b.gz"
$P --title "gzip level 6, one core (same code)" "npx tsx bench/compress-file.ts gzip1 $IN $OUT/a.gz" "gzip -6 -c $IN > $OUT/b.gz"
