#!/usr/bin/env bash
# The seed's workflow, daemonless: build the fruit/cost example single- and multi-stage, list both
# images with their sizes, run the multi-stage one by name, and show the exited container. Then the
# seed's trap: a naive multi-stage build (Dockerfile.naive) that comes out LARGER than the
# single-stage one, and what `compare` says about it.
# Run as root (RUN steps use Linux namespaces and overlayfs). Uses the default store
# (~/.local/share/stagecraft) unless STAGECRAFT_ROOT is set.
set -euo pipefail
cd "$(dirname "$0")/../.."
EX=examples/fruit-cost
SC=(node dist/stagecraft.js)

need=()
for b in debootstrap getfattr unshare; do command -v "$b" >/dev/null || need+=("$b"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "+ apt-get install debootstrap attr util-linux (missing: ${need[*]})"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap attr util-linux >/dev/null
fi

node scripts/bundle.mjs
step() { printf '\n$ stagecraft %s\n' "$*"; "${SC[@]}" "$@"; }

# The base image (Debian bookworm + Node.js), made offline once and imported into the store.
"${SC[@]}" inspect node-base:bookworm >/dev/null 2>&1 || bash scripts/make-node-base.sh "${SC[@]}"

CA=(--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt)
step build -t fruit-cost-single:latest -f $EX/Dockerfile.single "${CA[@]}" --progress plain $EX
step build -t fruit-cost-multi:latest -f $EX/Dockerfile.multi "${CA[@]}" --progress plain $EX
step images
"${SC[@]}" rm -f fruit-cost-multi-container >/dev/null 2>&1 || true
step run --name fruit-cost-multi-container fruit-cost-multi:latest
step ps -a

# Where the bytes went: the single-stage image ships npm's cache, TypeScript and @types/node.
step compare fruit-cost-single:latest fruit-cost-multi:latest
"${SC[@]}" compare fruit-cost-single:latest fruit-cost-multi:latest --format html -o fruit-cost-report.html

# The seed's trap (its multi-stage image was 294MB against 288MB): multi-stage is no guarantee.
step build -q -t fruit-cost-naive:latest -f $EX/Dockerfile.naive "${CA[@]}" $EX
step images
step compare fruit-cost-single:latest fruit-cost-naive:latest

# What lint says about the single-stage and the naive Dockerfiles (it exits 1 on warnings; the
# demo goes on)
step lint $EX/Dockerfile.single || true
step lint $EX/Dockerfile.naive || true
echo
echo "HTML report: $PWD/fruit-cost-report.html"
