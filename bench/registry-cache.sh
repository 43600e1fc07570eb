#!/usr/bin/env bash
# A second machine rebuilding from a cache in a registry: stagecraft's registry cache against
# BuildKit's own `--cache-from type=registry`, same workload (examples/fruit-cost, Dockerfile.multi),
# same base image, same registry (the lab's, localhost:5000). Needs ../shared/lab/peer.sh.
#   bench/registry-cache.sh [RUNS]        results: bench/results/registry-cache.md
# Before every timed run (untimed): stagecraft gets a fresh store holding only the base image, and
# BuildKit's build cache is pruned (`docker builder prune -af`) and the image removed, so both start
# with nothing but the base image and the registry.
#  - stagecraft: --cache-to type=registry,mode=max once, then `build --cache-from type=registry,ref=R`
#  - BuildKit (docker driver; on the classic image store it can export only the inline cache, mode=min):
#    `--cache-to type=inline --push` once, then `docker buildx build --cache-from type=registry,ref=IMAGE --load`
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
REG=localhost:5000/stagecraft-bench
EX=$PWD/examples/fruit-cost
CA="--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt"
SC="node $PWD/dist/stagecraft.js"
OUT=$PWD/bench/results
mkdir -p "$OUT"
node scripts/bundle.mjs
docker info >/dev/null 2>&1 || { echo "no docker engine: run ../shared/lab/peer.sh first" >&2; exit 1; }
tmp=$(mktemp -d /var/tmp/sc-regcache.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
SEED=$tmp/seed FRESH=$tmp/fresh

# the base image, made the example's way, in stagecraft (seed store) and in the lab's dockerd
STAGECRAFT_ROOT=$SEED bash scripts/make-node-base.sh $SC >/dev/null
STAGECRAFT_ROOT=$SEED $SC save node-base:bookworm -o "$tmp/base.tar"
docker load -i "$tmp/base.tar" >/dev/null

# the caches, once
STAGECRAFT_ROOT=$SEED $SC build -q -t fruit:seed -f $EX/Dockerfile.multi $CA \
  --cache-to type=registry,ref=$REG/fruit:sc-cache,mode=max $EX >/dev/null
docker buildx build --progress plain -f $EX/Dockerfile.multi $CA --cache-to type=inline \
  -t $REG/fruit:bk-inline --push $EX >/dev/null 2>&1

prep="rm -rf $FRESH && STAGECRAFT_ROOT=$FRESH $SC load -q -i $tmp/base.tar && docker rmi -f bench-fruit:bk; docker builder prune -af"
A="STAGECRAFT_ROOT=$FRESH $SC build --progress plain -t bench-fruit:sc -f $EX/Dockerfile.multi $CA --cache-from type=registry,ref=$REG/fruit:sc-cache $EX"
B="docker buildx build --progress plain -f $EX/Dockerfile.multi $CA --cache-from type=registry,ref=$REG/fruit:bk-inline -t bench-fruit:bk --load $EX"

# both must be all cache hits: checked on one run each
sh -c "$prep" >/dev/null 2>&1; sh -c "$A" 2>"$tmp/a.log"
sh -c "$prep" >/dev/null 2>&1; sh -c "$B" 2>"$tmp/b.log"
# a step vertex that ended DONE (not CACHED) ran: stagecraft must run none
steps_ran() { node -e 'const t=require("fs").readFileSync(process.argv[1],"utf8").split("\n");const n=new Map();let r=0;for(const l of t){const m=/^#(\d+) (.*)$/.exec(l);if(!m)continue;if(!n.has(m[1]))n.set(m[1],m[2]);if(/^DONE /.test(m[2])&&/\] (RUN|COPY|ADD|WORKDIR) /.test(n.get(m[1])))r++}console.log(r)' "$1"; }
echo "check: steps that ran: stagecraft $(steps_ran "$tmp/a.log"), BuildKit $(steps_ran "$tmp/b.log")" | tee "$tmp/check"
[ "$(steps_ran "$tmp/a.log")" = 0 ] || { echo "stagecraft did not rebuild from the cache" >&2; cat "$tmp/a.log" >&2; exit 1; }

{
  echo "| row | stagecraft (median) | BuildKit (median) | stagecraft / BuildKit | min ratio | max ratio |"
  echo "|---|---:|---:|---:|---:|---:|"
  node bench/pairs.mjs --runs "$RUNS" --warmup 1 --prepare "$prep" --title "fresh-store rebuild from a registry cache (fruit-cost, multi-stage)" "$A" "$B"
  echo
  cat "$tmp/check"
} | tee "$OUT/registry-cache.md"
docker rmi -f bench-fruit:bk >/dev/null 2>&1 || true
