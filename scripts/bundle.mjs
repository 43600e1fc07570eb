// Bundles src/cli/main.ts into one ESM file, dist/stagecraft.js (the npm `bin`).
// Written to a temporary name and renamed, so a process running the CLI never reads half a file.
import { build } from 'esbuild';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const out = 'dist/stagecraft.js';
const tmp = `dist/.stagecraft.${process.pid}.js`;
await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: tmp,
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
writeFileSync(tmp, readFileSync(tmp, 'utf8').replace(/sourceMappingURL=\.stagecraft\.\d+\.js\.map/, 'sourceMappingURL=stagecraft.js.map'));
chmodSync(tmp, 0o755);
renameSync(`${tmp}.map`, `${out}.map`);
renameSync(tmp, out);
