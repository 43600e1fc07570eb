import { chmodSync, lchownSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../util/errors.js';
import { hashPaths, loadContext, parseDockerignore } from '../index.js';
import { copyFiles } from '../../fileops/index.js';
import { dumpTree, makeTree, tmpDir } from '../../fileops/__tests__/helpers.js';

const tmp = (p = 'sc-ctx-'): string => tmpDir(p);

describe('loadContext', () => {
  it('reads <context>/Dockerfile and .dockerignore', async () => {
    const d = makeTree(tmp(), { Dockerfile: 'FROM scratch\n', '.dockerignore': '# c\n*.log\n!keep.log\n/abs/\n', 'x.log': '', 'keep.log': '' });
    const c = await loadContext(d);
    expect(c.dockerfile.text).toBe('FROM scratch\n');
    expect(c.dockerfile.name).toBe('Dockerfile');
    expect(c.ignoreFile).toBe(join(c.dir, '.dockerignore'));
    expect(c.ignore.ignores('x.log')).toBe(true);
    expect(c.ignore.ignores('keep.log')).toBe(false);
    expect(c.ignore.ignores('abs/f')).toBe(true);
    expect(c.ignore.ignores('sub/x.log')).toBe(false);
  });

  it('falls back to a lowercase dockerfile', async () => {
    const d = makeTree(tmp(), { dockerfile: 'FROM a\n' });
    expect((await loadContext(d)).dockerfile.text).toBe('FROM a\n');
  });

  it('-f outside the context, relative to cwd, with its own NAME.dockerignore taking precedence', async () => {
    const ctxDir = makeTree(tmp(), { '.dockerignore': 'a\n', a: '', b: '' });
    const other = makeTree(tmp(), { 'build.Dockerfile': 'FROM b\n', 'build.Dockerfile.dockerignore': 'b\n' });
    const c = await loadContext(ctxDir, { dockerfile: 'build.Dockerfile', cwd: other });
    expect(c.dockerfile.text).toBe('FROM b\n');
    expect(c.dockerfile.path).toBe(join(other, 'build.Dockerfile'));
    expect(c.ignore.ignores('b')).toBe(true);
    expect(c.ignore.ignores('a')).toBe(false);
    // Dockerfile.dockerignore beside the default Dockerfile also wins over .dockerignore
    const d2 = makeTree(tmp(), { Dockerfile: 'FROM c\n', 'Dockerfile.dockerignore': 'x\n', '.dockerignore': 'y\n' });
    const c2 = await loadContext(d2);
    expect([c2.ignore.ignores('x'), c2.ignore.ignores('y')]).toEqual([true, false]);
  });

  it('-f - takes the text from stdin and uses only .dockerignore', async () => {
    const d = makeTree(tmp(), { '.dockerignore': 'secret\n', 'Dockerfile.dockerignore': 'other\n' });
    const c = await loadContext(d, { dockerfile: '-', stdin: 'FROM s\n' });
    expect(c.dockerfile).toEqual({ text: 'FROM s\n', name: '-' });
    expect(c.ignore.ignores('secret')).toBe(true);
    expect(c.ignore.ignores('other')).toBe(false);
  });

  it('errors: missing context, missing Dockerfile, context is a file', async () => {
    await expect(loadContext('/nonexistent/ctx')).rejects.toThrow('unable to prepare context: path "/nonexistent/ctx" not found');
    const d = tmp();
    await expect(loadContext(d)).rejects.toThrow('failed to read dockerfile: open Dockerfile: no such file or directory');
    await expect(loadContext(d, { dockerfile: 'nope.Dockerfile', cwd: d })).rejects.toBeInstanceOf(UserError);
    // buildx wording (checked against Docker 26): base name only; a missing directory is a resolve error
    await expect(loadContext(d, { dockerfile: join(d, 'nope.Dockerfile') })).rejects.toThrow('failed to read dockerfile: open nope.Dockerfile: no such file or directory');
    await expect(loadContext(d, { dockerfile: join(d, 'sub/x.Dockerfile') })).rejects.toThrow(`resolve : lstat ${join(d, 'sub')}: no such file or directory`);
    await expect(loadContext(d, { dockerfile: d })).rejects.toThrow(/failed to read dockerfile: read .*: is a directory/);
    writeFileSync(join(d, 'f'), '');
    await expect(loadContext(join(d, 'f'))).rejects.toThrow('context must be a directory');
  });

  it('parses .dockerignore like Docker (BOM, trim, comments, !, clean, leading /)', () => {
    expect(parseDockerignore('\uFEFF# x\n  a/b/../c  \n\n!/d/./e\n/f\n./g/\n')).toEqual(['a/c', '!d/e', 'f', 'g']);
  });

  it('COPY from the loaded context honours .dockerignore', async () => {
    const d = makeTree(tmp(), { Dockerfile: 'FROM x\n', '.dockerignore': 'node_modules\n*.secret\n', 'src/a.js': 'a', 'node_modules/m/i.js': 'm', 'k.secret': 's' });
    const c = await loadContext(d);
    const dst = tmp();
    await copyFiles({ srcRoot: c.dir, ignore: c.ignore, resetOwnership: true, sources: ['.'], dest: '/app/', destRoot: dst });
    expect(Object.keys(dumpTree(dst)).sort()).toEqual(['app', 'app/.dockerignore', 'app/Dockerfile', 'app/src', 'app/src/a.js']);
  });
});

describe('hashPaths', () => {
  it('depends on content, mode, type and link target, not on mtime', async () => {
    const d = makeTree(tmp(), { 'src/a': 'a', 'src/b': 'b', 'src/l': { link: 'a' } });
    const h0 = await hashPaths(d, ['src']);
    expect(h0).toMatch(/^sha256:[0-9a-f]{64}$/);
    utimesSync(join(d, 'src/a'), 1000, 1000);
    expect(await hashPaths(d, ['src'])).toBe(h0);
    writeFileSync(join(d, 'src/a'), 'A');
    const h1 = await hashPaths(d, ['src']);
    expect(h1).not.toBe(h0);
    chmodSync(join(d, 'src/a'), 0o755);
    const h2 = await hashPaths(d, ['src']);
    expect(h2).not.toBe(h1);
    unlinkSync(join(d, 'src/l'));
    symlinkSync('b', join(d, 'src/l'));
    expect(await hashPaths(d, ['src'])).not.toBe(h2);
  });

  it('ownership matters only when asked (stage sources)', async () => {
    const d = makeTree(tmp(), { f: 'x' });
    const a = await hashPaths(d, ['f'], { includeOwnership: true });
    const plain = await hashPaths(d, ['f']);
    lchownSync(join(d, 'f'), 5, 5);
    expect(await hashPaths(d, ['f'])).toBe(plain);
    expect(await hashPaths(d, ['f'], { includeOwnership: true })).not.toBe(a);
  });

  it('follows the same source rules as copyFiles: globs, .dockerignore, --exclude, not found', async () => {
    const d = makeTree(tmp(), { Dockerfile: 'FROM x\n', '.dockerignore': 'ign\n', 'a.txt': 'a', ign: 'i', 'dir/x': 'x', 'dir/y.log': 'y' });
    const c = await loadContext(d);
    const g = await hashPaths(c, ['*.txt']);
    writeFileSync(join(d, 'ign'), 'changed');
    expect(await hashPaths(c, ['*'])).toBe(await hashPaths(c, ['*']));
    const star = await hashPaths(c, ['*']);
    writeFileSync(join(d, 'ign'), 'changed again');
    expect(await hashPaths(c, ['*'])).toBe(star);
    expect(await hashPaths(c, ['*.txt'])).toBe(g);
    const ex = await hashPaths(c, ['dir'], { exclude: ['*.log'] });
    writeFileSync(join(d, 'dir/y.log'), 'yy');
    expect(await hashPaths(c, ['dir'], { exclude: ['*.log'] })).toBe(ex);
    await expect(hashPaths(c, ['ign'])).rejects.toThrow('"/ign": not found');
    await expect(hashPaths(c, ['missing'])).rejects.toThrow('failed to compute cache key');
    // different source lists give different keys even with the same files
    expect(await hashPaths(c, ['a.txt'])).not.toBe(await hashPaths(c, ['./a.txt', 'a.txt']));
  });

  it('never hashes host files through escaping links', async () => {
    const d = makeTree(tmp(), { l: { link: '/etc/hostname' }, up: { link: '../../../../etc' } });
    await expect(hashPaths(d, ['l'])).rejects.toThrow('"/etc/hostname": not found');
    await expect(hashPaths(d, ['up/passwd'])).rejects.toThrow('"/etc/passwd": not found');
  });
});
