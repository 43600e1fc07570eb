/**
 * .dockerignore parity with BuildKit: for several ignore files, `COPY . /t/` through
 * `DOCKER_BUILDKIT=1 docker build` (FROM scratch, exported as a tar) and through loadContext +
 * copyFiles must copy exactly the same set of paths. Also checks that `<Dockerfile>.dockerignore`
 * beside the Dockerfile wins over the context's .dockerignore. Skipped without a Docker engine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, readdirSync, lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTar } from '../src/image/index.js';
import { copyFiles } from '../src/worker/fileops/index.js';
import { loadContext } from '../src/worker/context/index.js';
import { makeTree, tmpDir } from '../src/worker/fileops/__tests__/helpers.js';

const dockerOk = spawnSync('docker', ['info'], { timeout: 15_000 }).status === 0;

const FILES = [
  'a.log',
  'keep.log',
  'src/app.js',
  'src/app.test.js',
  'src/lib/util.js',
  'src/lib/deep/x.log',
  'node_modules/m/index.js',
  'node_modules/m/README.md',
  'docs/a.md',
  'docs/b.txt',
  'docs/sub/c.md',
  'build/out/bin',
  '.git/HEAD',
  '.env',
  '.env.example',
  'x1',
  'x2',
  'xa',
  'weird [name].txt',
  'dir.with.dots/f',
  'empty/',
];

const IGNORES: Record<string, string> = {
  basic: 'node_modules\n*.log\n!keep.log\n.git\n',
  doublestar: '**/*.log\nsrc/**/*.test.js\n**/deep\n',
  negations: 'docs\n!docs/*.md\ndocs/sub\n!docs/sub/c.md\n',
  classes: 'x[0-9]\n?a\nweird*\n.env*\n!.env.example\n',
  slashes: '/build/\n./dir.with.dots\nsrc/lib/\n# comment\n  \n',
  everything: '*\n!src\n!src/**\n',
};

function paths(files: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) out[f] = f.endsWith('/') ? '' : f;
  return out;
}

async function dockerPaths(ctx: string, df: string, dfPath?: string): Promise<string[]> {
  const p = dfPath ?? join(tmpDir('sc-ign-df-'), 'Dockerfile');
  writeFileSync(p, df);
  const out = join(tmpDir('sc-ign-out-'), 'out.tar');
  execFileSync('docker', ['build', '-q', '--no-cache', '-f', p, '--output', `type=tar,dest=${out}`, ctx], {
    env: { ...process.env, DOCKER_BUILDKIT: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 120_000,
  });
  const names: string[] = [];
  for await (const e of readTar(createReadStream(out) as AsyncIterable<Buffer>)) names.push(e.name.replace(/^\.?\//, '').replace(/\/$/, ''));
  return names.sort();
}

function hostPaths(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d)) {
      const r = rel ? `${rel}/${n}` : n;
      out.push(r);
      if (lstatSync(join(d, n)).isDirectory()) walk(join(d, n), r);
    }
  };
  walk(root, '');
  return out.sort();
}

function makeFiles(dir: string): void {
  const tree: Record<string, string | { dir: true }> = {};
  for (const [k, v] of Object.entries(paths(FILES))) tree[k.replace(/\/$/, '')] = v === '' ? { dir: true } : v;
  makeTree(dir, tree);
}

describe.skipIf(!dockerOk)('.dockerignore parity with BuildKit', () => {
  for (const [name, text] of Object.entries(IGNORES)) {
    it(`COPY . copies the same paths: ${name}`, async () => {
      const ctx = tmpDir(`sc-ign-${name}-`);
      makeFiles(ctx);
      writeFileSync(join(ctx, '.dockerignore'), text);
      const want = await dockerPaths(ctx, 'FROM scratch\nCOPY . /t/\n');
      const c = await loadContext(ctx, { dockerfile: '-', stdin: 'FROM scratch\n' });
      const root = tmpDir('sc-ign-root-');
      await copyFiles({ srcRoot: c.dir, ignore: c.ignore, resetOwnership: true, sources: ['.'], dest: '/t/', destRoot: root });
      expect(hostPaths(root)).toEqual(want);
    });
  }

  it('<Dockerfile>.dockerignore next to a Dockerfile outside the context wins', async () => {
    const ctx = tmpDir('sc-ign-ctx-');
    makeFiles(ctx);
    writeFileSync(join(ctx, '.dockerignore'), 'docs\n');
    const dfDir = tmpDir('sc-ign-dfdir-');
    writeFileSync(join(dfDir, 'app.Dockerfile.dockerignore'), 'src\n');
    const want = await dockerPaths(ctx, 'FROM scratch\nCOPY . /t/\n', join(dfDir, 'app.Dockerfile'));
    const c = await loadContext(ctx, { dockerfile: join(dfDir, 'app.Dockerfile') });
    const root = tmpDir('sc-ign-root-');
    await copyFiles({ srcRoot: c.dir, ignore: c.ignore, resetOwnership: true, sources: ['.'], dest: '/t/', destRoot: root });
    const got = hostPaths(root);
    expect(got).toEqual(want);
    expect(got).toContain('t/docs');
    expect(got).not.toContain('t/src');
  });
});
