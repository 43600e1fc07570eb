// Bundles src/cli/main.ts into dist/stagecraft.js (the npm `bin`) plus code-split chunks that each
// command loads on demand (dist/chunks/*.js), so `stagecraft run` does not parse the builder.
// Built into a temporary directory; the chunks (content-hashed names) are moved in first and the
// entry last, so a process running the CLI never reads half a file or a missing chunk.
import { build } from 'esbuild';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

// The bin's shell half (one line: to node it is a comment). Mirrors main.ts: the first argument
// that is not an option names the command.
const SH_LAUNCH = [
  'for a; do case $a in -*) ;; build) [ "${STAGECRAFT_NO_PRIVATE_NS:-}${STAGECRAFT_PRIVATE_NS:-}" = "" ]',
  '{ while read -r k u _; do [ "$k" = Uid: ] && break; done </proc/self/status; [ "$u" = 0 ]; } && command -v unshare >/dev/null && STAGECRAFT_PRIVATE_NS=1 && export STAGECRAFT_PRIVATE_NS',
  'exec unshare --mount --propagation private -- node -- "$0" "$@"; break;; *) break;; esac; done; exec node -- "$0" "$@"',
].join(' && ');

// Node 22.1+: V8's compiled code of every chunk kept in the user's cache dir (NODE_COMPILE_CACHE
// wins); Node writes it atomically at exit and ignores a directory it cannot write.
const COMPILE_CACHE =
  "try { if (__scModule.enableCompileCache) { const c = process.env.XDG_CACHE_HOME || (process.env.HOME && process.env.HOME + '/.cache'); " +
  "__scModule.enableCompileCache(process.env.NODE_COMPILE_CACHE || (c ? c + '/stagecraft/compile-cache' : undefined)); } } catch {}";

const tmp = `dist/.build-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
await build({
  entryPoints: { stagecraft: 'src/cli/main.ts' },
  outdir: tmp,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // native addon: loaded from node_modules at run time
  external: ['zstd-napi'],
  banner: {
    // A sh/JS polyglot: sh runs `node -- FILE ARGS`, so node stops reading its own options at `--`
    // (Node 20 otherwise takes `--env-file` from anywhere in argv, e.g. `run --env-file F`); to node
    // the second line is a string and a comment. `build` as root: sh enters the private mount
    // namespace itself (`unshare --mount`, then exec node with the mark privatens.ts reads), which
    // saves the second node start that `node stagecraft.js build` pays (runInPrivateMountNs).
    // Nothing waits for this node process, so it needs no parent-death signal. Node 22.1+: V8's
    // compile cache (enableCompileCache, via a namespace import; Node 20 has no such export).
    js: `#!/bin/sh\n":" //; ${SH_LAUNCH}\nimport * as __scModule from 'node:module';\n${COMPILE_CACHE}\nconst require = __scModule.createRequire(import.meta.url);`,
  },
  logLevel: 'warning',
});
mkdirSync('dist/chunks', { recursive: true });
if (existsSync(join(tmp, 'chunks'))) {
  for (const f of readdirSync(join(tmp, 'chunks'))) renameSync(join(tmp, 'chunks', f), join('dist/chunks', f));
}
chmodSync(join(tmp, 'stagecraft.js'), 0o755);
renameSync(join(tmp, 'stagecraft.js.map'), 'dist/stagecraft.js.map');
renameSync(join(tmp, 'stagecraft.js'), 'dist/stagecraft.js');
rmSync(tmp, { recursive: true, force: true });
