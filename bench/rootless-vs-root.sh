#!/usr/bin/env bash
# Rootless vs root: the example app (examples/fruit-cost, Dockerfile.multi: npm ci with the CA
# secret, tsc, a final stage) built by an ordinary user (the CLI re-runs itself as root of a user
# namespace mapped from /etc/subuid) and by root, each into its own store holding the same
# node-base:bookworm (scripts/make-node-base.sh). Two rows, timed with farm-bench, the two commands
# alternating (A = rootless, B = root) and the ratio taken pair by pair:
#   cold   build --no-cache (every step runs; npm ci fetches from the registry each time)
#   no-op  the same build again, all cache hits
# Both commands go through `runuser` so both pay the same start-up.
#   bench/rootless-vs-root.sh [COLD_RUNS] [NOOP_RUNS]    results: bench/results/rootless-vs-root.md
# Needs root, the user $RL_USER (default scbuild, with /etc/subuid and /etc/subgid ranges; .ci/run
# creates it), debootstrap (for the base, cached in /var/tmp/stagecraft-cache) and farm-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
COLD=${1:-3}
NOOP=${2:-10}
RL_USER=${RL_USER:-scbuild}
OUT=$PWD/bench/results
mkdir -p "$OUT"
node scripts/bundle.mjs

WORK=$(mktemp -d /var/tmp/stagecraft-bench-rootless-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
mkdir "$WORK/root" "$WORK/user"
chown "$RL_USER" "$WORK/user"
# the checkout may be unreadable for the user (a clone under /root): it builds from copies it owns
cp -a dist "$WORK/dist" && cp -a examples/fruit-cost "$WORK/ctx" && chmod -R a+rX "$WORK/dist" "$WORK/ctx"
CLI=$WORK/dist/stagecraft.js
HOME_U=$(getent passwd "$RL_USER" | cut -d: -f6)
as_root=(runuser -u root -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root STAGECRAFT_ROOT="$WORK/root" node "$CLI")
as_user=(runuser -u "$RL_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME_U" STAGECRAFT_ROOT="$WORK/user" node "$CLI")
STAGECRAFT_ROOT="$WORK/root" bash scripts/make-node-base.sh node "$CLI" >/dev/null
runuser -u "$RL_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME_U" STAGECRAFT_ROOT="$WORK/user" \
  bash scripts/make-node-base.sh node "$CLI" >/dev/null

BUILD=(build -q -t fruit-cost-multi:bench -f "$WORK/ctx/Dockerfile.multi" --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt "$WORK/ctx")
# the --vs command is one string split like a shell: no spaces in these paths
{
  echo "# rootless vs root: examples/fruit-cost (Dockerfile.multi)"
  echo
  echo "## cold (--no-cache), A = rootless ($RL_USER), B = root"
  echo '```'
  farm-bench -n "$COLD" --timeout 3000 --vs "${as_root[*]} ${BUILD[*]} --no-cache" -- "${as_user[@]}" "${BUILD[@]}" --no-cache
  echo '```'
  echo
  echo "## no-op rebuild (all cached), A = rootless ($RL_USER), B = root"
  echo '```'
  farm-bench -n "$NOOP" --timeout 600 --vs "${as_root[*]} ${BUILD[*]}" -- "${as_user[@]}" "${BUILD[@]}"
  echo '```'
} | tee "$OUT/rootless-vs-root.md"
