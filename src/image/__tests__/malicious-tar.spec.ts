/**
 * The malicious-tarball corpus: crafted layers that try to write, link, delete or mark things outside
 * the extraction target. Every case must be rejected (UserError) or contained (whatever it does
 * happens inside the target), in all three whiteout modes; a sibling "outside" directory and a
 * canary file must come out untouched.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../util/errors.js';
import { applyLayer, encodeHeader, padLen, TAR_END, type TarHeader, type WhiteoutMode } from '../index.js';

type E = Partial<TarHeader> & { name: string; data?: string; rawPaxPath?: string };

function tarOf(entries: E[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const h: TarHeader = { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: data.length, ...e };
    if (h.type !== 'file') h.size = 0;
    parts.push(encodeHeader(h));
    if (h.type === 'file') {
      parts.push(data, Buffer.alloc(padLen(data.length)));
    }
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

interface Sandbox {
  base: string;
  target: string;
  outside: string;
  canary: string;
}

function sandbox(): Sandbox {
  const base = mkdtempSync(join(tmpdir(), 'sc-evil-'));
  const target = join(base, 'target');
  const outside = join(base, 'outside');
  mkdirSync(target);
  mkdirSync(outside);
  const canary = join(outside, 'secret');
  writeFileSync(canary, 'canary');
  return { base, target, outside, canary };
}

function snapshotOutside(s: Sandbox): string {
  // everything under base except the target: names, types, sizes, link counts, contents of files
  return execFileSync('sh', ['-c', `cd '${s.base}' && find . -path ./target -prune -o -printf '%p %y %s %n\\n' | sort && cat outside/secret`], { encoding: 'utf8' });
}

/** the corpus; `S` is substituted by the absolute path of the sandbox's outside dir */
const corpus: { name: string; entries: (s: Sandbox) => E[] }[] = [
  { name: 'dot-dot file', entries: () => [{ name: '../outside/pwned', data: 'x' }] },
  { name: 'deep dot-dot file', entries: () => [{ name: 'a/b/../../../outside/pwned', data: 'x' }] },
  { name: 'dot-dot via PAX path', entries: () => [{ name: `${'d/'.repeat(60)}../../${'../'.repeat(60)}outside/pwned`, data: 'x' }] },
  { name: 'absolute path', entries: (s) => [{ name: `${s.outside}/pwned`, data: 'x' }] },
  { name: 'absolute path overwriting the canary', entries: (s) => [{ name: s.canary, data: 'pwned' }] },
  { name: 'symlink parent (absolute)', entries: (s) => [{ name: 'evil', type: 'symlink', linkname: s.outside }, { name: 'evil/pwned', data: 'x' }] },
  { name: 'symlink parent (relative ..)', entries: () => [{ name: 'evil', type: 'symlink', linkname: '../outside' }, { name: 'evil/pwned', data: 'x' }] },
  { name: 'symlink parent overwrite canary', entries: () => [{ name: 'evil', type: 'symlink', linkname: '../outside' }, { name: 'evil/secret', data: 'pwned' }] },
  {
    name: 'chained symlinks climbing',
    entries: () => [
      { name: 'a', type: 'symlink', linkname: '..' },
      { name: 'b', type: 'symlink', linkname: 'a/a/a/outside' },
      { name: 'b/pwned', data: 'x' },
    ],
  },
  { name: 'symlink then file through it (final component)', entries: () => [{ name: 'link', type: 'symlink', linkname: '../outside/secret' }, { name: 'link', data: 'pwned' }] },
  { name: 'symlink to canary then hard link to it', entries: () => [{ name: 'link', type: 'symlink', linkname: '../outside/secret' }, { name: 'hl', type: 'link', linkname: 'link' }] },
  { name: 'dir replaced by symlink then file below', entries: (s) => [{ name: 'd/', type: 'dir', mode: 0o755 }, { name: 'd', type: 'symlink', linkname: s.outside }, { name: 'd/pwned', data: 'x' }] },
  { name: 'hard link with dot-dot', entries: () => [{ name: 'hl', type: 'link', linkname: '../outside/secret' }] },
  { name: 'hard link absolute', entries: (s) => [{ name: 'hl', type: 'link', linkname: s.canary }] },
  { name: 'hard link through symlink parent', entries: () => [{ name: 'evil', type: 'symlink', linkname: '../outside' }, { name: 'hl', type: 'link', linkname: 'evil/secret' }] },
  { name: 'hard link to a directory', entries: () => [{ name: 'd/', type: 'dir', mode: 0o755 }, { name: 'hl', type: 'link', linkname: 'd' }] },
  { name: 'bare whiteout', entries: () => [{ name: '.wh.', data: '' }] },
  { name: 'bare whiteout in a dir', entries: () => [{ name: 'd/', type: 'dir', mode: 0o755 }, { name: 'd/.wh.', data: '' }] },
  { name: 'whiteout of dot-dot', entries: () => [{ name: '.wh..', data: '' }] },
  { name: 'whiteout of dot-dot-dot path', entries: () => [{ name: 'x/../../.wh.outside', data: '' }] },
  { name: 'whiteout through symlink parent', entries: () => [{ name: 'evil', type: 'symlink', linkname: '../outside' }, { name: 'evil/.wh.secret', data: '' }] },
  { name: 'whiteout through absolute symlink', entries: (s) => [{ name: 'evil', type: 'symlink', linkname: s.outside }, { name: 'evil/.wh.secret', data: '' }] },
  { name: 'opaque whiteout through symlink parent', entries: () => [{ name: 'evil', type: 'symlink', linkname: '../outside' }, { name: 'evil/.wh..wh..opq', data: '' }] },
  { name: 'opaque whiteout at dot-dot', entries: () => [{ name: '../outside/.wh..wh..opq', data: '' }] },
  { name: 'name longer than PATH_MAX', entries: () => [{ name: `${'d'.repeat(250)}/`.repeat(20) + 'f', data: 'x' }] },
  { name: 'file below a file', entries: () => [{ name: 'f', data: 'x' }, { name: 'f/g', data: 'y' }] },
  { name: 'symlink loop parent', entries: () => [{ name: 'loop', type: 'symlink', linkname: 'loop' }, { name: 'loop/x', data: 'x' }] },
  { name: 'device node through symlink parent', entries: () => [{ name: 'evil', type: 'symlink', linkname: '../outside' }, { name: 'evil/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 }] },
  { name: 'fifo replacing canary via absolute name', entries: (s) => [{ name: s.canary, type: 'fifo', mode: 0o644 }] },
  { name: 'xattr on a symlink pointing outside', entries: () => [{ name: 'evil', type: 'symlink', linkname: '../outside/secret', xattrs: new Map([['trusted.pwned', Buffer.from('1')]]) }] },
  {
    name: 'file below a parent that later becomes a symlink (xattrs re-resolved)',
    entries: () => [
      { name: 'd/', type: 'dir', mode: 0o755 },
      { name: 'd/f', data: 'x', xattrs: new Map([['trusted.pwned', Buffer.from('1')]]) },
      { name: 'd', type: 'symlink', linkname: '../outside' },
    ],
  },
  {
    name: 'whiteout below a parent that later becomes a symlink (overlay nodes re-resolved)',
    entries: () => [
      { name: 'd/', type: 'dir', mode: 0o755 },
      { name: 'd/.wh.secret', data: '' },
      { name: 'd', type: 'symlink', linkname: '../outside' },
    ],
  },
  { name: 'setuid file through symlink parent', entries: () => [{ name: 'evil', type: 'symlink', linkname: '/../../outside' }, { name: 'evil/suid', data: '#!/bin/sh', mode: 0o4755 }] },
];

const modes: WhiteoutMode[] = ['apply', 'overlay', 'none'];

describe('malicious tarball corpus', () => {
  for (const c of corpus) {
    for (const mode of modes) {
      it(`${c.name} [${mode}]`, async () => {
        const s = sandbox();
        const before = snapshotOutside(s);
        const tar = tarOf(c.entries(s));
        let outcome: 'contained' | 'rejected' = 'contained';
        try {
          await applyLayer(Readable.from([gzipSync(tar)]), s.target, { whiteouts: mode });
        } catch (e) {
          expect(e).toBeInstanceOf(UserError);
          expect((e as Error).message).not.toContain('\n');
          outcome = 'rejected';
        }
        expect(snapshotOutside(s)).toBe(before);
        expect(readFileSync(s.canary, 'utf8')).toBe('canary');
        expect(lstatSync(s.canary).nlink).toBe(1);
        expect(execFileSync('getfattr', ['-h', '-d', '-m', '-', s.canary, s.outside], { encoding: 'utf8' })).toBe('');
        // nothing but target/ and outside/ in the sandbox
        expect(readdirSync(s.base).sort()).toEqual(['outside', 'target']);
        expect(['contained', 'rejected']).toContain(outcome);
      });
    }
  }

  it('contains an absolute name inside the target', async () => {
    const s = sandbox();
    await applyLayer(Readable.from([tarOf([{ name: `${s.outside}/pwned`, data: 'x' }])]), s.target, { whiteouts: 'apply' });
    expect(readFileSync(join(s.target, s.outside, 'pwned'), 'utf8')).toBe('x');
  });

  it('writes through an in-root symlink parent the way the container sees it', async () => {
    const s = sandbox();
    await applyLayer(Readable.from([tarOf([{ name: 'evil', type: 'symlink', linkname: s.outside }, { name: 'evil/pwned', data: 'x' }])]), s.target, { whiteouts: 'apply' });
    expect(readFileSync(join(s.target, s.outside, 'pwned'), 'utf8')).toBe('x');
    expect(lstatSync(join(s.target, 'evil')).isSymbolicLink()).toBe(true);
  });

  it('rejects garbage and truncated input with one-line errors', async () => {
    const s = sandbox();
    await expect(applyLayer(Readable.from([Buffer.from('hello, not a tar at all'.repeat(40))]), s.target, { whiteouts: 'apply' })).rejects.toBeInstanceOf(UserError);
    const good = gzipSync(tarOf([{ name: 'f', data: 'x'.repeat(5000) }]));
    await expect(applyLayer(Readable.from([good.subarray(0, good.length - 30)]), s.target, { whiteouts: 'apply' })).rejects.toBeInstanceOf(UserError);
    expect(existsSync(join(s.base, 'pwned'))).toBe(false);
    // a PAX header announcing a huge body is refused before anything is buffered
    const h = encodeHeader({ name: 'PaxHeaders.0/x', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 });
    h.write('x', 156, 'ascii');
    h.write('77777777777\0', 124, 'ascii');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    await expect(applyLayer(Readable.from([h, Buffer.alloc(4096)]), s.target, { whiteouts: 'apply' })).rejects.toThrow(/limit/);
  });
});
