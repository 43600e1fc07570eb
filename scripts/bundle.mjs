// Bundles src/cli/main.ts into one ESM file, dist/stagecraft.js (the npm `bin`).
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

const out = 'dist/stagecraft.js';
await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // native addon: loaded from node_modules at run time
  external: ['zstd-napi'],
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __scCreateRequire } from 'node:module';\nconst require = __scCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
chmodSync(out, 0o755);
