#!/usr/bin/env bash
# Rootless: what the private network and the fallback snapshotters cost. A busybox Dockerfile of five
# RUN steps (each writes a file; one deletes a dir) built with --no-cache by $RL_USER (default
# scbuild; the CLI enters its user namespace), timed with farm-bench, A and B alternating, the
# ratio taken pair by pair:
#   network      A = --network slirp4netns (one slirp4netns per RUN)  B = --network host
#   fuse         A = STAGECRAFT_SNAPSHOTTER=fuse-overlayfs            B = overlayfs (userxattr)
#   native       A = STAGECRAFT_SNAPSHOTTER=native                    B = overlayfs (userxattr)
#   bench/rootless-net-snap.sh [RUNS]     results: bench/results/rootless-net-snap.md
# Needs root (to switch to $RL_USER), busybox-static, slirp4netns, fuse-overlayfs and farm-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
RL_USER=${RL_USER:-scbuild}
OUT=$PWD/bench/results
mkdir -p "$OUT"
node scripts/bundle.mjs

WORK=$(mktemp -d /var/tmp/stagecraft-bench-rlns-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
cp -a dist "$WORK/dist" && chmod -R a+rX "$WORK/dist"
mkdir -p "$WORK/store" "$WORK/ctx" "$WORK/rootfs/bin" "$WORK/rootfs/tmp"
cp "$(command -v busybox)" "$WORK/rootfs/bin/busybox"
for c in sh mkdir rm echo seq; do ln -s busybox "$WORK/rootfs/bin/$c"; done
tar -C "$WORK/rootfs" -cf "$WORK/busybox.tar" .
cat > "$WORK/ctx/Dockerfile" <<'DF'
FROM bb
RUN mkdir -p /data/a && echo one > /data/a/f
RUN echo two > /data/b
RUN rm -rf /data/a && mkdir /data/a && echo three > /data/a/g
RUN for i in $(seq 1 200); do echo $i > /data/n$i; done
RUN echo five > /five
DF
chown -R "$RL_USER" "$WORK/store" "$WORK/ctx"
HOME_U=$(getent passwd "$RL_USER" | cut -d: -f6)
as_user() { echo "runuser -u $RL_USER -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=$HOME_U STAGECRAFT_ROOT=$WORK/store $* node $WORK/dist/stagecraft.js"; }
$(as_user) import "$WORK/busybox.tar" bb >/dev/null
BUILD="build -q --no-cache $WORK/ctx"
{
  echo "# rootless: slirp4netns vs host network, fuse-overlayfs / native vs overlayfs (5 RUN steps, --no-cache)"
  for row in "network|$(as_user) $BUILD --network slirp4netns|$(as_user) $BUILD --network host" \
             "fuse|$(as_user STAGECRAFT_SNAPSHOTTER=fuse-overlayfs) $BUILD|$(as_user STAGECRAFT_SNAPSHOTTER=overlayfs) $BUILD" \
             "native|$(as_user STAGECRAFT_SNAPSHOTTER=native) $BUILD|$(as_user STAGECRAFT_SNAPSHOTTER=overlayfs) $BUILD"; do
    IFS='|' read -r name a b <<<"$row"
    echo
    echo "## $name: A = ${a#*STAGECRAFT_ROOT=$WORK/store }"
    echo '```'
    # shellcheck disable=SC2086
    farm-bench -n "$RUNS" --timeout 600 --vs "$b" -- $a
    echo '```'
  done
} | tee "$OUT/rootless-net-snap.md"
