#!/usr/bin/env bash
# Makes the offline base image `node-base:bookworm` for the example: Debian bookworm (debootstrap
# --variant=minbase, over Debian's plain-HTTP mirror) plus this machine's Node.js and npm, imported
# with `stagecraft import`. No registry needed. The debootstrap tree is cached between runs.
#   scripts/make-node-base.sh [STAGECRAFT CLI...]   (default: node dist/stagecraft.js)
#   scripts/make-node-base.sh --rootfs-only         only the Debian tarball (no Node, no import); prints its path
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${STAGECRAFT_CACHE:-/var/tmp/stagecraft-cache}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
ROOTFS_ONLY=0; [ "${1:-}" = --rootfs-only ] && { ROOTFS_ONLY=1; shift; }
SC=("$@"); [ ${#SC[@]} -gt 0 ] || SC=(node dist/stagecraft.js)
mkdir -p "$CACHE"

ROOTFS_TAR=$CACHE/bookworm-minbase.tar
if [ ! -s "$ROOTFS_TAR" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  dir=$(mktemp -d "$CACHE/bookworm.XXXXXX")
  echo "debootstrap --variant=minbase bookworm (once; cached in $ROOTFS_TAR)" >&2
  debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || { echo "debootstrap failed: see $CACHE/debootstrap.log" >&2; exit 1; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log
  tar --numeric-owner --xattrs -C "$dir" -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$dir"
fi
[ "$ROOTFS_ONLY" = 1 ] && { echo "$ROOTFS_TAR"; exit 0; }

NODE_TAR=$CACHE/node-base-$(node -p process.version).tar
if [ ! -s "$NODE_TAR" ]; then
  dir=$(mktemp -d "$CACHE/nodebase.XXXXXX")
  tar -C "$dir" -xf "$ROOTFS_TAR"
  install -m 0755 "$(readlink -f "$(command -v node)")" "$dir/usr/bin/node"
  npmdir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  mkdir -p "$dir/usr/lib/node_modules" && cp -a "$npmdir" "$dir/usr/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/bin/npx"
  tar --numeric-owner --xattrs -C "$dir" -cf "$NODE_TAR.tmp" . && mv "$NODE_TAR.tmp" "$NODE_TAR"
  rm -rf "$dir"
fi

"${SC[@]}" import "$NODE_TAR" node-base:bookworm \
  --change "ENV NODE_VERSION=$(node -p 'process.versions.node')" \
  --change 'CMD ["node"]'
