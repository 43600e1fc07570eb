#!/bin/sh
# analyze / compare throughput on a generated 1 GB, 50,000-file image against the floor of reading
# the same layer blobs with GNU tar (`tar -tvzf`: decompress + list every entry), timed in pairs by
# farm-bench. The image is made once (bench/gen-analyze-image.mjs, then `import`) into
# $BENCH_ROOT (default /var/tmp/stagecraft-bench-analyze) and reused.
#   bench/analyze-throughput.sh [RUNS]
set -eu
RUNS=${1:-5}
cd "$(dirname "$0")/.."
export STAGECRAFT_ROOT=${BENCH_ROOT:-/var/tmp/stagecraft-bench-analyze}
SC="node $PWD/dist/stagecraft.js"
[ -f dist/stagecraft.js ] || node scripts/bundle.mjs
if ! $SC images -q bench-a:1 | grep -q .; then
  work=$(mktemp -d /var/tmp/sc-bench-gen-XXXXXX)
  node bench/gen-analyze-image.mjs "$work/root"
  tar --numeric-owner -C "$work/root" -cf "$work/root.tar" .
  $SC import "$work/root.tar" bench-a:1
  mkdir -p "$work/ctx/extra" && echo extra > "$work/ctx/extra/x.txt"
  printf 'FROM bench-a:1\nCOPY extra/ /extra/\n' > "$work/ctx/Dockerfile"
  $SC build -q -t bench-b:1 "$work/ctx" >/dev/null
  rm -rf "$work"
fi
# the layer blobs of an image, as store paths
blobs() {
  $SC inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' "$1" >/dev/null # exists
  node -e '
    const fs = require("fs"); const root = process.env.STAGECRAFT_ROOT; const want = process.argv[1];
    const blob = (d) => `${root}/blobs/sha256/${d.slice(7)}`;
    const idx = JSON.parse(fs.readFileSync(`${root}/index.json`, "utf8"));
    const m = idx.manifests.find((x) => Object.values(x.annotations ?? {}).some((v) => v === want || v.endsWith(`/${want}`)));
    const man = JSON.parse(fs.readFileSync(blob(m.digest), "utf8"));
    console.log(man.layers.map((l) => blob(l.digest)).join(" "));' "$1"
}
A=$(blobs bench-a:1)
B=$(blobs bench-b:1)
echo "image: $($SC images --format '{{.Repository}}:{{.Tag}} {{.Size}}' bench-a) ; layers: $A"
echo "## analyze bench-a:1 --format json vs tar -tvzf of its layers"
farm-bench -n "$RUNS" --timeout 1200 --vs "sh -c 'for b in $A; do tar -tvzf \$b; done >/dev/null'" -- sh -c "exec $SC analyze bench-a:1 --format json >/dev/null"
echo "## compare bench-a:1 bench-b:1 --format json vs tar -tvzf of both images' layers"
farm-bench -n "$RUNS" --timeout 1200 --vs "sh -c 'for b in $A $B; do tar -tvzf \$b; done >/dev/null'" -- sh -c "exec $SC compare bench-a:1 bench-b:1 --format json >/dev/null"
echo "## analyze bench-a:1 --format html (the report, written to /dev/null)"
farm-bench -n "$RUNS" --timeout 1200 --vs "sh -c 'for b in $A; do tar -tvzf \$b; done >/dev/null'" -- sh -c "exec $SC analyze bench-a:1 --format html >/dev/null"
