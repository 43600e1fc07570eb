#!/usr/bin/env bash
# Where the example's no-op rebuild spends its time: each row paired against `node -e 0`.
# Needs the example built once in the store (bench/build-vs-buildkit.sh does that).
#   bench/startup-breakdown.sh [RUNS] [OTHER_DIST]   (OTHER_DIST: another checkout's dist/ to compare)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-11}
OTHER=${2:-}
export STAGECRAFT_ROOT=${STAGECRAFT_ROOT:-/var/tmp/stagecraft-bench-root}
EX=examples/fruit-cost
B="build -t fc:sc -f $EX/Dockerfile.multi --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt --progress plain $EX"
P="node bench/pairs.mjs --runs $RUNS --warmup 1"
echo "| row | A (median) | node -e 0 (median) | A / node -e 0 | min | max |"
echo "|---|---:|---:|---:|---:|---:|"
$P --title "node dist/stagecraft.js --version" "node dist/stagecraft.js --version" "node -e 0"
$P --title "no-op build, one node (STAGECRAFT_NO_PRIVATE_NS=1)" "STAGECRAFT_NO_PRIVATE_NS=1 node dist/stagecraft.js $B" "node -e 0"
$P --title "no-op build, the bin" "dist/stagecraft.js $B" "node -e 0"
$P --title "no-op build, node dist/stagecraft.js" "node dist/stagecraft.js $B" "node -e 0"
if [ -n "$OTHER" ]; then
  $P --title "no-op build, $OTHER bin" "$OTHER/stagecraft.js $B" "node -e 0"
  $P --title "no-op build, node $OTHER/stagecraft.js" "node $OTHER/stagecraft.js $B" "node -e 0"
fi
