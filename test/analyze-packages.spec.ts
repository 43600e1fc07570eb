/**
 * Packages and baggage on a real Debian image: a single-stage build that installs nodejs and npm
 * with apt, runs `npm ci` and compiles TypeScript (the fruit-cost example), against its multi-stage
 * build whose final stage installs only nodejs. `analyze` must name npm, node-gyp and the headers
 * apt brought in, with their packages, sizes and the layer that installed them, charge the npm cache
 * to `RUN npm ci` (not to the later `RUN npx tsc`), take devDependencies only from the app's own
 * package.json (not Debian's /usr/share/nodejs modules); `compare` must list the packages gone.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { context } from './helpers/build.js';
import { bookwormTar, hasDebootstrap } from './helpers/bases.js';
import { cli, isRoot, REPO, runCli, tmp } from './helpers/index.js';

const APT = 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends';
const NPM_CI = 'RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci --no-audit --no-fund';
const BUILD = `RUN ${APT} nodejs npm >/dev/null
WORKDIR /app
COPY package.json package-lock.json ./
${NPM_CI}
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p .`;

const SINGLE = `FROM debian:bookworm
${BUILD}
CMD ["node", "dist/app.js"]
`;
const MULTI = `FROM debian:bookworm AS build
${BUILD}

FROM debian:bookworm
RUN ${APT} nodejs >/dev/null && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
WORKDIR /app
COPY --from=build /app/dist ./dist
CMD ["node", "dist/app.js"]
`;

interface Pkg { ecosystem: string; name: string; version: string; bytes: number; layer: number; instruction: string; stage: string; tool?: string; neededBy?: string; dev?: boolean; path: string }
interface LeakJ { kind: string; what: string; bytes: number; layer: number; instruction?: string; path: string; neededPackages?: number; package?: string }
interface AnalysisJ { packages: Pkg[]; leaks: LeakJ[]; layers: Array<{ index: number; createdBy: string }> }

const root = tmp('sc-pkgs-');
const CA = ['--secret', 'id=ca,src=/etc/ssl/certs/ca-certificates.crt'];

async function build(ctx: string, tag: string, file: string): Promise<void> {
  const r = await runCli(['build', '--progress', 'plain', '-t', tag, '-f', join(ctx, file), ...CA, ctx], { root, timeoutMs: 1_200_000 });
  if (r.code !== 0) throw new Error(`build ${tag} failed (${r.code})\n${r.stderr.slice(-4000)}`);
}

describe.skipIf(!isRoot || !hasDebootstrap)('analyze: apt-installed nodejs + npm', () => {
  let single: AnalysisJ;
  beforeAll(async () => {
    await cli(['import', bookwormTar(), 'debian:bookworm'], { root, timeoutMs: 600_000 });
    const ctx = context({ 'Dockerfile.single': SINGLE, 'Dockerfile.multi': MULTI });
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'src']) cpSync(join(REPO, 'examples/fruit-cost', f), join(ctx, f), { recursive: true });
    await build(ctx, 'fruit-apt:single', 'Dockerfile.single');
    await build(ctx, 'fruit-apt:multi', 'Dockerfile.multi');
    single = JSON.parse((await cli(['analyze', 'fruit-apt:single', '--format', 'json'], { root, timeoutMs: 300_000 })).stdout) as AnalysisJ;
  }, 2_400_000);

  it('lists the apt packages the build installed, with sizes and the installing layer', () => {
    const deb = (n: string) => single.packages.find((p) => p.ecosystem === 'deb' && p.name === n);
    const aptLayer = single.layers.findIndex((l) => /apt-get install .* nodejs npm/.test(l.createdBy));
    expect(aptLayer).toBeGreaterThan(0);
    for (const n of ['npm', 'nodejs', 'node-gyp']) {
      const p = deb(n);
      expect(p, n).toBeDefined();
      expect(p?.bytes, n).toBeGreaterThan(10_000);
      expect(p?.layer, n).toBe(aptLayer);
      expect(p?.instruction, n).toMatch(/apt-get install/);
    }
    expect(deb('npm')?.tool).toBe('package-manager');
    expect(deb('node-gyp')?.tool).toBe('build-tool');
    // the base image's packages keep the base layer
    expect(deb('dpkg')?.layer).toBe(0);
    // node-* libraries that only npm needs are counted with it
    expect(single.packages.filter((p) => p.neededBy === 'npm' || p.neededBy === 'node-gyp').length).toBeGreaterThan(20);
    // the app's npm packages, dev-only as its lockfile says
    const ts = single.packages.find((p) => p.ecosystem === 'npm' && p.name === 'typescript');
    expect(ts?.dev).toBe(true);
    expect(ts?.path).toBe('/app/node_modules/typescript');
    expect(ts?.instruction).toMatch(/npm ci/);
  });

  it('names npm and the other apt build tools as baggage, charged where the bytes were added', () => {
    const npm = single.leaks.find((l) => l.package === 'npm');
    expect(npm?.kind).toBe('package-manager');
    expect(npm?.what).toMatch(/^npm \(deb 9\./);
    expect(npm?.neededPackages).toBeGreaterThan(20);
    expect(npm?.bytes).toBeGreaterThan(5_000_000);
    expect(npm?.instruction).toMatch(/apt-get install/);
    expect(single.leaks.find((l) => l.package === 'node-gyp')?.kind).toBe('build-tool');
    expect(single.leaks.some((l) => l.kind === 'headers' && l.bytes > 100_000)).toBe(true);
    const cache = single.leaks.find((l) => l.what === 'npm cache');
    expect(cache?.instruction).toMatch(/npm ci/);
    expect(cache?.bytes).toBeGreaterThan(1_000_000);
    // devDependencies: the app's, never Debian's vendored node modules
    const dev = single.leaks.filter((l) => l.kind === 'dev-dependency');
    expect(dev.map((l) => l.what)).toContain('typescript (devDependency)');
    expect(dev.filter((l) => !l.path.startsWith('/app/'))).toEqual([]);
  });

  it('text output names the packages with their sizes', async () => {
    const t = (await cli(['analyze', 'fruit-apt:single'], { root, timeoutMs: 300_000 })).stdout;
    expect(t).toMatch(/^deb\s+npm\s+9\.\S+\s+all\s+\S+B\s+1\s+stage-0\s+package-manager\s+RUN apt-get/m);
    expect(t).toMatch(/^deb\s+node-gyp\s+\S+\s+all\s+\S+B\s+1\s+stage-0\s+build-tool/m);
    expect(t).toMatch(/package-manager\s+npm \(deb 9\./);
  });

  it('compare lists the packages the multi-stage image leaves behind', async () => {
    const c = JSON.parse((await cli(['compare', 'fruit-apt:single', 'fruit-apt:multi', '--format', 'json'], { root, timeoutMs: 300_000 })).stdout) as { packages: Array<{ change: string; ecosystem: string; name: string; aBytes: number }>; verdict: string[] };
    const gone = c.packages.filter((p) => p.change === 'removed');
    for (const n of ['npm', 'node-gyp', 'libnode-dev']) expect(gone.find((p) => p.ecosystem === 'deb' && p.name === n), n).toBeDefined();
    expect(gone.find((p) => p.ecosystem === 'npm' && p.name === 'typescript')).toBeDefined();
    expect(c.packages.find((p) => p.ecosystem === 'deb' && p.name === 'nodejs')).toBeUndefined(); // in both
    expect(c.verdict.join('\n')).toMatch(/fruit-apt:multi drops \d+ package\(s\)/);
    const t = (await cli(['compare', 'fruit-apt:single', 'fruit-apt:multi'], { root, timeoutMs: 300_000 })).stdout;
    expect(t).toMatch(/^removed\s+deb\s+npm\s+9\.\S+\s+-\S+B$/m);
  });
});
