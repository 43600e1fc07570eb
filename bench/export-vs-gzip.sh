#!/usr/bin/env bash
# A 1 GB single-layer export: stagecraft's parallel gzip and zstd (what push / save / --output run
# on a layer the store keeps uncompressed) against single-core GNU `gzip -6`, paired A B A B.
#   bench/export-vs-gzip.sh [RUNS] [all]   (input: the tar of the big-context workload's 1,000 x 1 MiB files;
#                                           `all` adds the row of the same gzip code on one core)
# The compressor is bundled with esbuild first and run by plain `node`, as the CLI bundle runs it
# (no TypeScript loader in the timed process).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
CTX=$(node bench/gen-bigctx.mjs)
IN=/var/tmp/stagecraft-bench-1g.tar
[ -s "$IN" ] || tar --numeric-owner -C "$CTX/src" -cf "$IN" big
OUT=$(mktemp -d /var/tmp/sc-export-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
JS=$PWD/bench/.compress-file.mjs
npx esbuild bench/compress-file.ts --bundle --platform=node --format=esm --outfile="$JS" --external:zstd-napi --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
P="node bench/pairs.mjs --runs $RUNS --warmup 0"
echo "| row | stagecraft (median) | gzip -6 (median) | stagecraft / gzip | min ratio | max ratio |"
echo "|---|---:|---:|---:|---:|---:|"
$P --title "gzip level 6, parallel (all cores)" "node $JS gzip $IN $OUT/a.gz" "gzip -6 -c $IN > $OUT/b.gz"
$P --title "zstd level 3, workers" "node $JS zstd $IN $OUT/a.zst" "gzip -6 -c $IN > $OUT/b.gz"
if [ "${2:-}" = all ]; then
  $P --title "gzip level 6, one core (same code)" "node $JS gzip1 $IN $OUT/a.gz" "gzip -6 -c $IN > $OUT/b.gz"
fi
