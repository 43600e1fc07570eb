// Bundles src/cli/main.ts into dist/stagecraft.js (the npm `bin`) plus code-split chunks that each
// command loads on demand (dist/chunks/*.js), so `stagecraft run` does not parse the builder.
// Built into a temporary directory; the chunks (content-hashed names) are moved in first and the
// entry last, so a process running the CLI never reads half a file or a missing chunk.
import { build } from 'esbuild';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

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
    // the second line is a string and a comment.
    js: "#!/bin/sh\n\":\" //; exec node -- \"$0\" \"$@\"\nimport { createRequire as __scCreateRequire } from 'node:module';\nconst require = __scCreateRequire(import.meta.url);",
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
