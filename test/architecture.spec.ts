/**
 * The architecture's rules of the house, checked on every run: no import cycle between modules or
 * between top-level folders (scripts/import-cycles.mjs, TypeScript's own import reader), and one
 * home per concept for the helpers that used to have several (Go %q quoting, RUN --mount parsing,
 * the OCI tarball writer, the platform parser, the stage resolver, the context hasher), and a store
 * that knows no container record.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/index.js';

const SCRIPT = join(REPO, 'scripts/import-cycles.mjs');

function grepSrc(pattern: string): string[] {
  const r = spawnSync('grep', ['-rnE', pattern, 'src', '--include=*.ts', '--exclude-dir=__tests__'], { cwd: REPO, encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

describe('architecture', () => {
  it('has no import cycle between modules or folders', () => {
    const r = spawnSync(process.execPath, [SCRIPT, '--json'], { cwd: REPO, encoding: 'utf8' });
    const out = JSON.parse(r.stdout) as { modules: string[][]; folders: string[][]; edges: string[][] };
    expect(out.modules).toEqual([]);
    expect(out.folders).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('the check fails on a cycle (a throwaway pair of modules)', () => {
    const dir = join(REPO, 'src', '__cycle_probe__');
    try {
      execFileSync('mkdir', ['-p', dir]);
      execFileSync('sh', ['-c', `echo "import { b } from './b.js'; export const a = () => b;" > ${dir}/a.ts && echo "import { a } from './a.js'; export const b = () => a;" > ${dir}/b.ts`]);
      const r = spawnSync(process.execPath, [SCRIPT, '--json'], { cwd: REPO, encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(JSON.parse(r.stdout).modules).toContainEqual(['__cycle_probe__/a.ts', '__cycle_probe__/b.ts']);
    } finally {
      execFileSync('rm', ['-rf', dir]);
    }
  });

  it('keeps one home for Go quoting, RUN --mount parsing and the OCI tarball writer', () => {
    expect(grepSrc('export function goQuote\\(').map((l) => l.split(':')[0])).toEqual(['src/util/goquote.ts']);
    expect(grepSrc('type=(bind|cache|secret)').filter((l) => !l.startsWith('src/dockerfile/') && /RegExp|\/\(\^\|,\)/.test(l))).toEqual([]);
    // tar entries are written only by the image format code (layers, archives), never by the solver
    expect(grepSrc('encodeHeader\\(').filter((l) => !l.startsWith('src/image/'))).toEqual([]);
  });

  it('keeps one platform parser, one stage resolver and one context hasher; store/ reads no container record', () => {
    const files = (pattern: string) => grepSrc(pattern).map((l) => l.split(':')[0]);
    expect(files('function parsePlatform\\(')).toEqual(['src/reference/platform.ts']);
    // stage names and indexes are resolved (and their ordering error worded) in plan/stages.ts only
    expect(files('needs to be defined before current stage')).toEqual(['src/plan/stages.ts']);
    expect(files('s\\.name === (lower|v\\.toLowerCase)')).toEqual(['src/plan/stages.ts']);
    // named build contexts go through worker/context's hasher (its metadata cache, .dockerignore)
    expect(files('function (dirDigest|hashPaths)\\(')).toEqual(['src/worker/context/index.ts']);
    // gc roots come from registered providers: the containers module knows its record format
    expect(grepSrc('dirs\\.containers').filter((l) => l.startsWith('src/store/'))).toEqual([]);
    expect(grepSrc('addGcRoots\\(containerImageRoots\\)').length).toBeGreaterThan(0);
  });
});
