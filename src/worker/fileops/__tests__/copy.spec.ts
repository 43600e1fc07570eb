import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, linkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../util/errors.js';
import { copyFiles, patternMatcher, type CopyOptions } from '../index.js';
import { dumpTree, makeTree, tmpDir } from './helpers.js';

const T2001 = 978307200;

function ctx(): string {
  return makeTree(tmpDir('sc-ctx-'), {
    'a.txt': { file: 'a', mtime: T2001 },
    'b.txt': { file: 'b', uid: 1234, gid: 1234 },
    'dir/sub/x': { file: 'x', mtime: T2001 },
    'dir/sublink': { link: 'sub' },
    dir: { dir: true, mode: 0o700, mtime: T2001 },
    'dir/sub': { dir: true, mode: 0o750 },
    link: { link: 'a.txt' },
    abslink: { link: '/etc/passwd' },
    uplink: { link: '../../../../etc/shadow' },
    'p/q/r/f.txt': '1',
    'p/q/g.txt': '2',
    'p/h.md': '3',
  });
}

async function run(src: string, o: Partial<CopyOptions> & { sources: string[]; dest: string }, dest = tmpDir('sc-dst-')): Promise<Record<string, string>> {
  await copyFiles({ srcRoot: src, destRoot: dest, resetOwnership: true, ...o });
  return dumpTree(dest);
}

describe('copyFiles: file and directory rules', () => {
  it('a file to a dest without slash is renamed; with slash goes inside (parents 0755 root)', async () => {
    const c = ctx();
    expect(await run(c, { sources: ['a.txt'], dest: '/t/new' })).toEqual({ t: 'dir 755 0:0', 't/new': 'file 644 0:0 "a"' });
    expect(await run(c, { sources: ['a.txt'], dest: '/t/x/' })).toEqual({ t: 'dir 755 0:0', 't/x': 'dir 755 0:0', 't/x/a.txt': 'file 644 0:0 "a"' });
  });

  it('a file into an existing directory goes inside it', async () => {
    const c = ctx();
    const d = makeTree(tmpDir(), { 'etc/keep': 'k' });
    const t = await run(c, { sources: ['a.txt'], dest: '/etc' }, d);
    expect(t['etc/a.txt']).toBe('file 644 0:0 "a"');
  });

  it('a directory source copies its contents, keeps inner modes, symlinks stay links', async () => {
    const c = ctx();
    const dst = tmpDir();
    await copyFiles({ srcRoot: c, destRoot: dst, sources: ['dir'], dest: '/t', resetOwnership: true });
    expect(dumpTree(dst)).toEqual({
      t: 'dir 755 0:0',
      't/sub': 'dir 750 0:0',
      't/sub/x': 'file 644 0:0 "x"',
      't/sublink': 'link 777 0:0 -> sub',
    });
    // the top directory gets the source directory's times (BuildKit), files keep mtimes
    expect(Math.floor(lstatSync(join(dst, 't')).mtimeMs / 1000)).toBe(T2001);
    expect(Math.floor(lstatSync(join(dst, 't/sub/x')).mtimeMs / 1000)).toBe(T2001);
  });

  it('an existing destination directory keeps its mode but takes the source times', async () => {
    const c = ctx();
    const d = makeTree(tmpDir(), { t: { dir: true, mode: 0o700, mtime: 1 } });
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['dir'], dest: '/t', resetOwnership: true });
    const s = lstatSync(join(d, 't'));
    expect(s.mode & 0o7777).toBe(0o700);
    expect(Math.floor(s.mtimeMs / 1000)).toBe(T2001);
  });

  it('multiple sources into a dest without slash: each copied in turn, last wins (BuildKit)', async () => {
    const c = ctx();
    const t = await run(c, { sources: ['a.txt', 'b.txt'], dest: '/t' });
    expect(t.t).toBe('file 644 0:0 "b"');
  });

  it('context files become 0:0; stage sources keep ownership', async () => {
    const c = ctx();
    expect((await run(c, { sources: ['b.txt'], dest: '/t/' }))['t/b.txt']).toBe('file 644 0:0 "b"');
    const dst = tmpDir();
    await copyFiles({ srcRoot: c, destRoot: dst, sources: ['b.txt'], dest: '/t/' });
    expect(dumpTree(dst)['t/b.txt']).toBe('file 644 1234:1234 "b"');
  });

  it('a file cannot replace a directory; a directory cannot go onto a file or a link', async () => {
    const c = ctx();
    const d1 = makeTree(tmpDir(), { 't/a.txt/inner': 'i' });
    await expect(copyFiles({ srcRoot: c, destRoot: d1, sources: ['a.txt'], dest: '/t/' })).rejects.toThrow(
      'cannot replace to directory /t/a.txt with file',
    );
    const d2 = makeTree(tmpDir(), { 't/f': 'old' });
    await expect(copyFiles({ srcRoot: c, destRoot: d2, sources: ['dir'], dest: '/t/f' })).rejects.toThrow('cannot copy to non-directory: /t/f');
    const d3 = makeTree(tmpDir(), { 't/a': 'old' });
    await expect(copyFiles({ srcRoot: c, destRoot: d3, sources: ['a.txt'], dest: '/t/a/' })).rejects.toThrow('mkdir /t/a: not a directory');
  });

  it('overwrites an existing file', async () => {
    const c = ctx();
    const d = makeTree(tmpDir(), { 't/a.txt': 'old' });
    expect((await run(c, { sources: ['a.txt'], dest: '/t/' }, d))['t/a.txt']).toBe('file 644 0:0 "a"');
  });

  it('heredoc contents become 0644 files', async () => {
    const dst = tmpDir();
    await copyFiles({ srcRoot: tmpDir(), destRoot: dst, sources: [], contents: [{ path: 'hello.sh', data: 'echo hi\n' }], dest: '/app/' });
    expect(dumpTree(dst)['app/hello.sh']).toBe('file 644 0:0 "echo hi\\n"');
  });
});

describe('copyFiles: wildcards (Go filepath.Match)', () => {
  it('* matches within one path element only; matched dirs copy their contents', async () => {
    const c = ctx();
    expect(Object.keys(await run(c, { sources: ['*.txt'], dest: '/t/' })).sort()).toEqual(['t', 't/a.txt', 't/b.txt']);
    expect(Object.keys(await run(c, { sources: ['p/*/g.txt'], dest: '/t/' })).sort()).toEqual(['t', 't/g.txt']);
    expect(Object.keys(await run(c, { sources: ['*/g.txt'], dest: '/t/' }))).toEqual([]);
  });

  it('character classes, ranges, negation and escapes', async () => {
    const c = makeTree(tmpDir(), { 'f1': '1', 'f2': '2', 'fa': 'a', 'f*': 'star', 'x[1]': 'br' });
    expect(Object.keys(await run(c, { sources: ['f[0-9]'], dest: '/t/' })).sort()).toEqual(['t', 't/f1', 't/f2']);
    expect(Object.keys(await run(c, { sources: ['f[^0-9]'], dest: '/t/' })).sort()).toEqual(['t', 't/f*', 't/fa']);
    expect(Object.keys(await run(c, { sources: ['f[*]'], dest: '/t/' })).sort()).toEqual(['t', 't/f*']);
    expect(Object.keys(await run(c, { sources: ['x[[]1]'], dest: '/t/' })).sort()).toEqual(['t', 't/x[1]']);
    // escapes inside a glob (the Dockerfile lexer has already removed its own escapes)
    expect(Object.keys(await run(c, { sources: ['x\\[1]*'], dest: '/t/' })).sort()).toEqual(['t', 't/x[1]']);
    // no unescaped wildcard: a literal path (backslash included)
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['f\\*'], dest: '/t/' })).rejects.toThrow('"/f\\*": not found');
    expect(Object.keys(await run(c, { sources: ['?1'], dest: '/t/' })).sort()).toEqual(['t', 't/f1']);
  });

  it('no match copies nothing and creates nothing (BuildKit AllowEmptyWildcard); a malformed glob is no match', async () => {
    const c = ctx();
    expect(await run(c, { sources: ['nomatch*'], dest: '/t/' })).toEqual({});
    expect(await run(c, { sources: ['[['], dest: '/t/' })).toEqual({});
  });

  it('a missing directory before the wildcard is an error (moby/buildkit#2933)', async () => {
    const c = ctx();
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['nodir/*'], dest: '/t/' })).rejects.toThrow('lstat /nodir: no such file or directory');
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['a.txt/*'], dest: '/t/' })).rejects.toThrow('lstat /a.txt: no such file or directory');
  });

  it('dotfiles are matched by * (Go semantics, unlike shell globs)', async () => {
    const c = makeTree(tmpDir(), { '.env': 'e', 'v': 'v' });
    expect(Object.keys(await run(c, { sources: ['*'], dest: '/t/' })).sort()).toEqual(['t', 't/.env', 't/v']);
  });

  it('a missing literal source fails like BuildKit', async () => {
    const c = ctx();
    const e = await copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['missing'], dest: '/t/' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toBe('failed to compute cache key: failed to calculate checksum of ref: "/missing": not found');
  });
});

describe('copyFiles: symlinks and escapes', () => {
  it('a symlink named as the source is followed; the file keeps the link name', async () => {
    const c = ctx();
    expect(await run(c, { sources: ['link'], dest: '/t/' })).toEqual({ t: 'dir 755 0:0', 't/link': 'file 644 0:0 "a"' });
    expect(await run(c, { sources: ['dir/sublink'], dest: '/t/' })).toEqual({ t: 'dir 755 0:0', 't/x': 'file 644 0:0 "x"' });
  });

  it('a context symlink to /etc/passwd or ../../.. never reads host files', async () => {
    const c = ctx();
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['abslink'], dest: '/t/' })).rejects.toThrow('"/etc/passwd": not found');
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['uplink'], dest: '/t/' })).rejects.toThrow('"/etc/shadow": not found');
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['../../../etc/passwd'], dest: '/t/' })).rejects.toThrow('"/etc/passwd": not found');
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['abslink/../../etc/hostname'], dest: '/t/' })).rejects.toThrow('not found');
    // with a passwd inside the context, the link resolves to it
    makeTree(c, { 'etc/passwd': 'inside' });
    expect((await run(c, { sources: ['abslink'], dest: '/t/' }))['t/abslink']).toBe('file 644 0:0 "inside"');
    // a directory copy keeps the escaping links as links (not followed)
    const t = await run(c, { sources: ['.'], dest: '/t/' });
    expect(t['t/abslink']).toBe('link 777 0:0 -> /etc/passwd');
    expect(t['t/uplink']).toBe('link 777 0:0 -> ../../../../etc/shadow');
  });

  it('a symlinked directory in the source path is followed inside the root only', async () => {
    const c = makeTree(tmpDir(), { 'real/f': 'f', 'ln': { link: '/real' }, 'up': { link: '../../../../../..' } });
    expect(Object.keys(await run(c, { sources: ['ln/f'], dest: '/t/' }))).toContain('t/f');
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['up/etc/hostname'], dest: '/t/' })).rejects.toThrow('"/etc/hostname": not found');
    // a glob below an escaping link walks the root, not the host (whose /etc exists)
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['up/etc/host*'], dest: '/t/' })).rejects.toThrow('lstat /etc: no such file or directory');
    makeTree(c, { 'etc/hostname': 'inside' });
    expect(await run(c, { sources: ['up/etc/host*'], dest: '/t/' })).toEqual({ t: 'dir 755 0:0', 't/hostname': 'file 644 0:0 "inside"' });
  });

  it('never writes through a destination symlink that points outside', async () => {
    const c = ctx();
    const outside = tmpDir('sc-outside-');
    writeFileSync(join(outside, 'victim'), 'safe');
    const d = tmpDir();
    mkdirSync(join(d, 't'));
    symlinkSync(join(outside, 'victim'), join(d, 't/a.txt'));
    symlinkSync(outside, join(d, 'esc'));
    symlinkSync('../../../../../../../..' + outside, join(d, 'esc2'));
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['a.txt'], dest: '/t/' });
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('safe');
    expect(lstatSync(join(d, 't/a.txt')).isFile()).toBe(true);
    // dest path through an absolute link: resolved inside destRoot
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['a.txt'], dest: '/esc/victim' });
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['dir'], dest: '/esc2/' });
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('safe');
    expect(existsSync(join(d, outside, 'victim'))).toBe(true);
    expect(existsSync(join(outside, 'sub'))).toBe(false);
  });

  it('a dest symlink to a directory inside the root is followed (BuildKit RootPath)', async () => {
    const c = ctx();
    const d = makeTree(tmpDir(), { real: { dir: true }, t: { link: '/real' } });
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['a.txt'], dest: '/t/' });
    expect(readFileSync(join(d, 'real/a.txt'), 'utf8')).toBe('a');
  });

  it('a nested destination symlink in the way of a directory is an error, not followed', async () => {
    const c = ctx();
    const d = makeTree(tmpDir(), { 't/sub': { link: '/etc' } });
    await expect(copyFiles({ srcRoot: c, destRoot: d, sources: ['dir'], dest: '/t/' })).rejects.toThrow('cannot copy to non-directory: /t/sub');
  });

  it('symlink loops are a user error', async () => {
    const c = makeTree(tmpDir(), { l1: { link: 'l2' }, l2: { link: 'l1' } });
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['l1'], dest: '/t/' })).rejects.toThrow(UserError);
    const d = makeTree(tmpDir(), { l1: { link: 'l2' }, l2: { link: 'l1' } });
    await expect(copyFiles({ srcRoot: ctx(), destRoot: d, sources: ['a.txt'], dest: '/l1/x' })).rejects.toThrow(UserError);
  });

  it('reads files with O_NOFOLLOW: a FIFO or device in the tree is recreated, never read', async () => {
    const c = makeTree(tmpDir(), { 'd/f': 'f' });
    execFileSync('mkfifo', [join(c, 'd/pipe')]);
    const d = tmpDir();
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['d'], dest: '/t/' });
    expect(lstatSync(join(d, 't/pipe')).isFIFO()).toBe(true);
  });

  it('hard links within one source stay hard links', async () => {
    const c = makeTree(tmpDir(), { 'h/a': 'same' });
    linkSync(join(c, 'h/a'), join(c, 'h/b'));
    const d = tmpDir();
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['h'], dest: '/t/' });
    expect(lstatSync(join(d, 't/a')).ino).toBe(lstatSync(join(d, 't/b')).ino);
    expect(lstatSync(join(d, 't/a')).ino).not.toBe(lstatSync(join(c, 'h/a')).ino);
  });
});

describe('copyFiles: --chown / --chmod', () => {
  const passwd = 'root:x:0:0::/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\napp:x:1000:1001::/home/app:/bin/sh\n';
  const group = 'root:x:0:\ndaemon:x:1:\nmail:x:8:\napp:x:1001:\n';

  it('applies to copied items and to the parents it creates', async () => {
    const c = ctx();
    const d = makeTree(tmpDir(), { 'etc/passwd': passwd, 'etc/group': group });
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['a.txt', 'dir'], dest: '/t/x/', chown: 'app', resetOwnership: true });
    const t = dumpTree(d);
    expect(t.t).toBe('dir 755 1000:1001');
    expect(t['t/x']).toBe('dir 755 1000:1001');
    expect(t['t/x/a.txt']).toBe('file 644 1000:1001 "a"');
    expect(t['t/x/sub/x']).toBe('file 644 1000:1001 "x"');
    expect(t['t/x/sublink']).toBe('link 777 1000:1001 -> sub');
    expect(t.etc).toBe('dir 755 0:0');
  });

  it('names and ids, like BuildKit (unknown names are not errors)', async () => {
    const c = ctx();
    const cases: [string, string][] = [
      ['daemon', '1:1'],
      ['daemon:mail', '1:8'],
      ['5:mail', '5:8'],
      [':daemon', '0:1'],
      ['1234', '1234:1234'],
      ['nosuch', '0:0'],
      ['daemon:nosuchgrp', '1:1'],
      ['2000:3000', '2000:3000'],
    ];
    for (const [spec, want] of cases) {
      const d = makeTree(tmpDir(), { 'etc/passwd': passwd, 'etc/group': group });
      await copyFiles({ srcRoot: c, destRoot: d, sources: ['a.txt'], dest: '/t/', chown: spec });
      expect(dumpTree(d)['t/a.txt'], spec).toBe(`file 644 ${want} "a"`);
    }
    // numeric ids work without /etc/passwd
    const d = tmpDir();
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['a.txt'], dest: '/t/', chown: '7:9' });
    expect(dumpTree(d)['t/a.txt']).toBe('file 644 7:9 "a"');
  });

  it('chownRoot: names from another root (COPY --link writes into an empty dir)', async () => {
    const stage = makeTree(tmpDir(), { 'etc/passwd': passwd, 'etc/group': group });
    const d = tmpDir();
    await copyFiles({ srcRoot: ctx(), destRoot: d, sources: ['a.txt'], dest: '/t/', chown: 'app:mail', chownRoot: stage });
    expect(dumpTree(d)['t/a.txt']).toBe('file 644 1000:8 "a"');
  });

  it('reads /etc/passwd of the destination through its scoped resolver, never the host', async () => {
    const c = ctx();
    const d = makeTree(tmpDir(), { etc: { link: '/../../../../etc' } });
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['a.txt'], dest: '/t/', chown: 'daemon' });
    // the host has a daemon user, but the destination has no passwd: 0:0
    expect(dumpTree(d)['t/a.txt']).toBe('file 644 0:0 "a"');
  });

  it('octal chmod on files and dirs (not the created top dir, not symlinks), setuid allowed', async () => {
    const c = ctx();
    const t = await run(c, { sources: ['dir'], dest: '/t/', chmod: '755' });
    expect(t).toEqual({ t: 'dir 755 0:0', 't/sub': 'dir 755 0:0', 't/sub/x': 'file 755 0:0 "x"', 't/sublink': 'link 777 0:0 -> sub' });
    expect((await run(c, { sources: ['a.txt'], dest: '/t/', chmod: '4755' }))['t/a.txt']).toBe('file 4755 0:0 "a"');
  });

  it('symbolic chmod', async () => {
    const c = ctx();
    expect((await run(c, { sources: ['a.txt'], dest: '/t/', chmod: 'u+x,g=w' }))['t/a.txt']).toBe('file 724 0:0 "a"');
    expect((await run(c, { sources: ['a.txt'], dest: '/t/', chmod: 'a-r' }))['t/a.txt']).toBe('file 200 0:0 "a"');
    expect((await run(c, { sources: ['dir'], dest: '/t/', chmod: 'go=u' }))['t/sub']).toBe('dir 777 0:0');
    expect((await run(c, { sources: ['dir'], dest: '/t/', chmod: '+X' }))['t/sub/x']).toBe('file 644 0:0 "x"');
  });

  it('rejects bad modes with BuildKit wording', async () => {
    const c = ctx();
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['a.txt'], dest: '/t/', chmod: '888' })).rejects.toThrow(
      "invalid chmod parameter: '888'. it should be octal string and between 0 and 07777",
    );
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['a.txt'], dest: '/t/', chmod: '17777' })).rejects.toThrow('between 0 and 07777');
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['a.txt'], dest: '/t/', chmod: 'q+x' })).rejects.toThrow(UserError);
  });
});

describe('copyFiles: --parents, --exclude, .dockerignore', () => {
  it('--parents keeps the path; /./ is the pivot', async () => {
    const c = ctx();
    const t = await run(c, { sources: ['p/q/r/f.txt', 'p/./q/g.txt'], dest: '/t/', parents: true });
    expect(Object.keys(t).sort()).toEqual(['t', 't/p', 't/p/q', 't/p/q/r', 't/p/q/r/f.txt', 't/q', 't/q/g.txt']);
  });

  it('--parents with globs, and a missing literal path fails', async () => {
    const c = ctx();
    const t = await run(c, { sources: ['p/**/*.txt'], dest: '/t/', parents: true });
    expect(Object.keys(t).sort()).toEqual(['t', 't/p', 't/p/q', 't/p/q/g.txt', 't/p/q/r', 't/p/q/r/f.txt']);
    const t2 = await run(c, { sources: ['*/q/g.txt'], dest: '/t/', parents: true });
    expect(Object.keys(t2).sort()).toEqual(['t', 't/p', 't/p/q', 't/p/q/g.txt']);
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['p/nothere'], dest: '/t/', parents: true })).rejects.toThrow('"/p/nothere": not found');
  });

  it('--exclude patterns are relative to the source; excluded dirs drop their contents', async () => {
    const c = ctx();
    const t = await run(c, { sources: ['p'], dest: '/t/', exclude: ['*.md', 'q/r'] });
    expect(Object.keys(t).sort()).toEqual(['t', 't/q', 't/q/g.txt']);
    const t2 = await run(c, { sources: ['p'], dest: '/t/', exclude: ['**/*.txt'] });
    expect(Object.keys(t2).sort()).toEqual(['t', 't/h.md', 't/q', 't/q/r']);
  });

  it('--exclude also filters what a glob matched (Docker docs: COPY --exclude=*.txt hom* /mydir/)', async () => {
    const c = makeTree(tmpDir(), { 'home.md': 'm', 'homework.txt': 't', 'homes/a.txt': 'a', 'homes/b.md': 'b' });
    const t = await run(c, { sources: ['hom*'], dest: '/mydir/', exclude: ['*.txt'] });
    expect(Object.keys(t).sort()).toEqual(['mydir', 'mydir/b.md', 'mydir/home.md']);
    // a literal source is never excluded itself
    expect(Object.keys(await run(c, { sources: ['homework.txt'], dest: '/d/', exclude: ['*.txt'] }))).toContain('d/homework.txt');
  });

  it('.dockerignore: ignored paths do not exist, ! re-includes', async () => {
    const c = ctx();
    const ignore = patternMatcher(['p/q', '!p/q/g.txt', 'a.txt']);
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['a.txt'], dest: '/t/', ignore })).rejects.toThrow('"/a.txt": not found');
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['link'], dest: '/t/', ignore })).rejects.toThrow('"/a.txt": not found');
    const t = await run(c, { sources: ['p'], dest: '/t/', ignore });
    expect(Object.keys(t).sort()).toEqual(['t', 't/h.md', 't/q', 't/q/g.txt']);
    const t2 = await run(c, { sources: ['*.txt'], dest: '/t/', ignore });
    expect(Object.keys(t2).sort()).toEqual(['t', 't/b.txt']);
  });
});

describe('copyFiles: overlay whiteouts in a source root', () => {
  it('a 0/0 character device is treated as absent (never copied, not a source)', async () => {
    const c = makeTree(tmpDir(), { 'd/f': 'f' });
    execFileSync('mknod', [join(c, 'd/gone'), 'c', '0', '0']);
    execFileSync('mknod', [join(c, 'wh'), 'c', '0', '0']);
    const d = tmpDir();
    await copyFiles({ srcRoot: c, destRoot: d, sources: ['d', 'w*'], dest: '/t/' });
    expect(Object.keys(dumpTree(d)).sort()).toEqual(['t', 't/f']);
    await expect(copyFiles({ srcRoot: c, destRoot: tmpDir(), sources: ['wh'], dest: '/t/' })).rejects.toThrow('"/wh": not found');
  });
});

describe('copyFiles: --parents, BuildKit integration cases (dockerfile_parents_test.go)', () => {
  const base = (): string =>
    makeTree(tmpDir(), {
      'test/a/b/c/d/foo': '',
      'test/a/b/c/d/e/bay': '',
      'test/a/b2/c/d/e/bar': '',
      'test/a/b/c2/d/e/baz': '',
      'test/a/b/c2/d/e2/baz': '',
    });
  const cases: [string, string[], string[], string[]][] = [
    // name, sources, must exist under /out, must not exist
    ['middle', ['/test/a/b/./c/d'], ['c/d/e', 'c/d/foo'], ['a', 'e']],
    ['end', ['/test/a/b/c/d/.'], ['test/a/b/c/d/e', 'test/a/b/c/d/foo'], []],
    ['start', ['./test/a/b/c/d'], ['test/a/b/c/d/e', 'test/a/b/c/d/foo'], []],
    ['double', ['/test/a/./b/./c'], ['b/c/d/e', 'b/c/d/foo'], []],
    ['wildcard', ['/test/a/./*/c'], ['b/c/d/e', 'b2/c/d/e/bar'], []],
    ['doublewildcard', ['/test/a/b*/./c/**/e'], ['c/d/e', 'c/d/e/bay', 'c/d/e/bar'], []],
    ['doubleinputs', ['/test/a/b/c*/./d/**/baz', '/test/a/b*/./c/**/bar'], ['d/e/baz', 'd/e2/baz', 'c/d/e/bar'], ['d/e/bay']],
    ['wildcard-nonexistent', ['/test/a/b3*/c'], [''], ['a', 'test']],
    ['wildcard-afterpivot', ['/test/a/b/./c2*'], ['c2/d/e/baz'], ['a']],
  ];
  for (const [name, sources, present, absent] of cases) {
    it(name, async () => {
      const d = tmpDir();
      await copyFiles({ srcRoot: base(), destRoot: d, sources, dest: '/out/', parents: true });
      for (const p of present) expect(existsSync(join(d, 'out', p)), `${name}: /out/${p}`).toBe(true);
      for (const p of absent) expect(existsSync(join(d, 'out', p)), `${name}: no /out/${p}`).toBe(false);
    });
  }
  it('nonexistentfile', async () => {
    await expect(copyFiles({ srcRoot: base(), destRoot: tmpDir(), sources: ['/test/nonexistent-file'], dest: '/out/', parents: true })).rejects.toThrow(
      '"/test/nonexistent-file": not found',
    );
  });
});
