#!/usr/bin/env bash
# The cost of durable snapshots (one syncfs per snapshot before it is adopted into the store, issue
# 15) on the example: `examples/fruit-cost/Dockerfile.multi` built cold (--no-cache: npm ci, tsc, the
# final stage) and rebuilt after a source edit (tsc and the final stage run again), this checkout
# (A) against the commit before the change (B, default b0e21aa, bundled from `git archive`), each
# with its own store and its own copy of the example. A and B run alternately (bench/pairs.mjs).
#   bench/durability.sh [RUNS] [BASE_COMMIT]
#   bench/durability.sh --print [BASE_COMMIT]    prepare only; print the A and B commands of both rows
# Needs root, scripts/make-node-base.sh (the example's base, imported into both stores) and npm's
# registry reachable from a RUN (the CA secret below).
set -euo pipefail
cd "$(dirname "$0")/.."
PRINT=0; [ "${1:-}" = --print ] && { PRINT=1; shift; }
RUNS=${1:-5}; BASE=${2:-b0e21aa}
W=${BENCH_DIR:-/var/tmp/stagecraft-bench-durability}
mkdir -p "$W"
node scripts/bundle.mjs
if [ ! -s "$W/base/dist/stagecraft.js" ] || [ "$(cat "$W/base/.commit" 2>/dev/null)" != "$BASE" ]; then
  rm -rf "$W/base" && mkdir -p "$W/base"
  git archive "$BASE" | tar -x -C "$W/base"
  ln -s "$PWD/node_modules" "$W/base/node_modules"
  (cd "$W/base" && node scripts/bundle.mjs) && echo "$BASE" > "$W/base/.commit"
fi
CA="--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt"
for side in a b; do
  SC="node $PWD/dist/stagecraft.js"; [ $side = b ] && SC="node $W/base/dist/stagecraft.js"
  STAGECRAFT_ROOT=$W/store-$side $SC inspect node-base:bookworm >/dev/null 2>&1 || STAGECRAFT_ROOT=$W/store-$side bash scripts/make-node-base.sh $SC >/dev/null
  rm -rf "$W/ctx-$side" && cp -r examples/fruit-cost "$W/ctx-$side" && rm -rf "$W/ctx-$side/node_modules" "$W/ctx-$side/dist"
  STAGECRAFT_ROOT=$W/store-$side $SC build -q -t fc:bench -f "$W/ctx-$side/Dockerfile.multi" $CA "$W/ctx-$side" >/dev/null
  # cold: every step runs again; edit: a new line in a source file, so tsc and the final stage run
  eval "COLD_$side=\"env STAGECRAFT_ROOT=$W/store-$side $SC build -q --no-cache -t fc:bench -f $W/ctx-$side/Dockerfile.multi $CA $W/ctx-$side\""
  eval "EDIT_$side=\"sh -c 'date +//%s%N >> $W/ctx-$side/src/app.ts && exec env STAGECRAFT_ROOT=$W/store-$side $SC build -q -t fc:bench -f $W/ctx-$side/Dockerfile.multi $CA $W/ctx-$side'\""
done
if [ $PRINT = 1 ]; then
  printf 'cold A: %s\ncold B: %s\nedit A: %s\nedit B: %s\n' "$COLD_a" "$COLD_b" "$EDIT_a" "$EDIT_b"
  exit 0
fi
echo "| row | after (median) | before (median) | after / before | min | max |"
echo "|---|---:|---:|---:|---:|---:|"
node bench/pairs.mjs --runs "$RUNS" --title "example cold build (--no-cache)" "$COLD_a" "$COLD_b"
node bench/pairs.mjs --runs "$RUNS" --title "example rebuild after a source edit" "$EDIT_a" "$EDIT_b"
