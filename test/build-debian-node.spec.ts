/**
 * A realistic multi-stage build on a Debian base made with debootstrap (bookworm, minbase; the tree
 * is cached in $STAGECRAFT_TEST_CACHE/bookworm between runs): the build stage installs a package
 * with apt (plain HTTP, apt caches on cache mounts) and "builds" a Node app with the host's node
 * binary (copied into the context: no Node image is available offline); the final stage gets only
 * node and the built app, and running it prints the app's output.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, isRoot, tmp } from './helpers/index.js';
import { bookwormTar, hasDebootstrap } from './helpers/bases.js';
import { buildOk, cachedVertices, context, imageConfig, imageTree, runInImage } from './helpers/build.js';

const APP = `const rows = [['apple', 10], ['banana', 5], ['orange', 6]];
const width = Math.max(...rows.map((r) => r[0].length));
console.log('name'.padEnd(width) + '  cost');
for (const [n, c] of rows) console.log(n.padEnd(width) + '  ' + String(c).padStart(4));
`;

const DOCKERFILE = `FROM debian:bookworm AS build
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \\
    rm -f /etc/apt/apt.conf.d/docker-clean; apt-get update -qq && apt-get install -y -qq --no-install-recommends jq >/dev/null
COPY node /usr/local/bin/node
WORKDIR /app
COPY package.json app.js ./
RUN node -e "const fs=require('fs');fs.mkdirSync('dist');fs.writeFileSync('dist/app.js','// built by '+process.version+'\\n'+fs.readFileSync('app.js','utf8'))" \\
 && jq -r .name package.json > dist/name.txt

FROM debian:bookworm
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/dist ./dist
USER nobody
CMD ["node", "dist/app.js"]
`;

describe.skipIf(!isRoot || !hasDebootstrap)('build: Node app on a debootstrapped Debian base', () => {
  let root: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await cli(['import', bookwormTar(), 'debian:bookworm'], { root, timeoutMs: 600_000 });
  }, 1_500_000);

  it('builds in one stage, runs from the final stage, leaves the build tools behind', async () => {
    const ctx = context({ Dockerfile: DOCKERFILE, 'app.js': APP, 'package.json': '{"name":"fruit-cost","version":"1.0.0"}\n' });
    copyFileSync(process.execPath, join(ctx, 'node'));
    const r = await buildOk(root, ctx, ['-t', 'fruit:multi']);
    expect(r.stderr).toMatch(/\[build 2\/6\] RUN --mount=type=cache/);

    const run = await runInImage(root, 'fruit:multi');
    expect(run.exitCode).toBe(0);
    expect(run.output).toBe('name    cost\napple     10\nbanana     5\norange     6\n');

    const cfg = await imageConfig(root, 'fruit:multi');
    expect(cfg.config?.Cmd).toEqual(['node', 'dist/app.js']);
    expect(cfg.config?.User).toBe('nobody');
    const tree = await imageTree(root, 'fruit:multi');
    expect(readFileSync(join(tree, 'app/dist/app.js'), 'utf8')).toMatch(/^\/\/ built by v\d+/);
    expect(readFileSync(join(tree, 'app/dist/name.txt'), 'utf8')).toBe('fruit-cost\n');
    expect(existsSync(join(tree, 'usr/bin/jq'))).toBe(false); // only in the build stage
    expect(existsSync(join(tree, 'app/app.js'))).toBe(false);

    // an unchanged rebuild is all cache hits
    const again = await buildOk(root, ctx, ['-t', 'fruit:multi']);
    expect(again.stderr).not.toMatch(/#\d+ \d+\.\d{3} /); // no RUN produced output: nothing ran
    expect(cachedVertices(again.stderr)).toHaveLength(8);
  }, 600_000);
});
