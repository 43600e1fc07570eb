/**
 * The npm package installs and works on a machine without a C toolchain: `npm pack`, then
 * `npm install -g --prefix EMPTY` with a PATH that holds node, npm and the host tools a build uses
 * but no compiler (the optional zstd-napi addon cannot build and is skipped). The installed bin
 * imports a base, builds an image with a RUN and runs it; a zstd layer then fails with one line.
 * The package carries no source maps, has its LICENSE, `os: ["linux"]`, a repository, and no
 * dependency that nothing imports.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, busyboxRootfsTar, isRoot, tmp } from './helpers/index.js';

const TOOLS = ['node', 'npm', 'sh', 'bash', 'env', 'mkdir', 'rm', 'ln', 'cat', 'cp', 'mv', 'chmod', 'uname', 'tar', 'gzip',
  'unshare', 'mount', 'umount', 'setpriv', 'mknod', 'touch', 'getfattr', 'setfattr', 'ip', 'flock'];

describe.runIf(isRoot)('npm package', () => {
  it('packs, installs into an empty prefix without a compiler, builds and runs an image', () => {
    const dir = tmp('sc-install-');
    const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8' }).trim().split('\n').pop()!;
    const files = execFileSync('tar', ['tzf', join(dir, tgz)], { encoding: 'utf8' }).split('\n');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files).toContain('package/LICENSE');
    // the published manifest: linux only, a repository, and no dependency that nothing imports
    const pkg = JSON.parse(execFileSync('tar', ['xzf', join(dir, tgz), '-O', 'package/package.json'], { encoding: 'utf8' })) as {
      os?: string[]; repository?: { url?: string }; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>;
    };
    expect(pkg.os).toEqual(['linux']);
    expect(pkg.repository?.url).toMatch(/^git\+https:\/\/.+\.git$/);
    const sources = execFileSync('grep', ['-rhoE', `from '[^'.][^']*'|import\\('[^'.][^']*'\\)`, join(REPO, 'src')], { encoding: 'utf8' });
    for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]) {
      expect(sources, `${dep} is a dependency but nothing in src/ imports it`).toMatch(new RegExp(`'${dep.replace(/[/.]/g, '\\$&')}(/[^']*)?'`));
    }
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const t of TOOLS) {
      const p = execFileSync('sh', ['-c', `command -v ${t} || true`], { encoding: 'utf8' }).trim();
      if (p) symlinkSync(p, join(bin, t));
    }
    for (const cc of ['cc', 'gcc', 'g++', 'c++', 'clang', 'make']) expect(existsSync(join(bin, cc))).toBe(false);
    const prefix = join(dir, 'prefix');
    // the user's npm configuration (registry, CA) stays; only PATH is reduced
    const env = { ...process.env, PATH: bin };
    execFileSync('npm', ['install', '-g', '--prefix', prefix, join(dir, tgz), '--no-audit', '--no-fund'], { cwd: dir, env, stdio: 'pipe' });
    const mods = readdirSync(join(prefix, 'lib', 'node_modules', 'stagecraft', 'node_modules'));
    expect(mods).not.toContain('zstd-napi');
    const sc = join(prefix, 'bin', 'stagecraft');
    const root = join(dir, 'store');
    const run = (...args: string[]) => execFileSync(sc, args, { cwd: dir, env: { ...env, STAGECRAFT_ROOT: root }, encoding: 'utf8', stdio: 'pipe' });
    run('import', busyboxRootfsTar(), 'busybox:latest');
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo installed > /msg\nCMD ["cat", "/msg"]\n');
    run('build', '-q', '-t', 'inst:1', ctx);
    expect(run('run', '--rm', 'inst:1')).toBe('installed\n');
    // a zstd layer meets an install without zstd: one clear line
    let err = '';
    try {
      run('import', '--compression', 'zstd', busyboxRootfsTar(), 'bbz:1');
    } catch (e) {
      err = String((e as { stderr?: string }).stderr);
    }
    expect(err).toMatch(/zstd support is not installed/);
    expect(err.trim().split('\n').pop()).not.toMatch(/internal error/);
  }, 300_000);
});
