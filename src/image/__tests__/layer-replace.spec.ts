/**
 * applyLayer over names that are already taken (by a lower layer or earlier in the same layer): the
 * new entry replaces whatever holds the name, whatever the kinds; and parents re-resolve after a
 * directory or a symlink on their path was replaced (the extractor remembers resolved parents).
 */
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { applyLayer, encodeHeader, padLen, TAR_END, type TarHeader } from '../index.js';

type E = Partial<TarHeader> & { name: string; data?: string };

function tarOf(entries: E[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const h: TarHeader = { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1_000_000, ...e, size: (e.type ?? 'file') === 'file' ? data.length : 0 };
    parts.push(encodeHeader(h));
    if (h.type === 'file') parts.push(data, Buffer.alloc(padLen(data.length)));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

const apply = (dir: string, entries: E[]) => applyLayer(Readable.from([tarOf(entries)]), dir, { whiteouts: 'apply' });

/** a lower tree with one of each kind */
function lower(): string {
  const d = mkdtempSync(join(tmpdir(), 'sc-replace-'));
  mkdirSync(join(d, 'dir/sub'), { recursive: true });
  writeFileSync(join(d, 'dir/sub/f'), 'below');
  writeFileSync(join(d, 'file'), 'old');
  symlinkSync('file', join(d, 'sym'));
  writeFileSync(join(d, 'target'), 'linked');
  linkSync(join(d, 'target'), join(d, 'hard'));
  return d;
}

const kind = (p: string): string => {
  const st = lstatSync(p);
  return st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `symlink->${readlinkSync(p)}` : st.isFile() ? `file:${readFileSync(p, 'utf8')}:${st.nlink}` : 'other';
};

describe('applyLayer replacing taken names', () => {
  it('replaces each kind by each kind', async () => {
    const d = lower();
    await apply(d, [
      { name: 'dir', data: 'file over dir' },
      { name: 'file/', type: 'dir', mode: 0o750 },
      { name: 'sym', data: 'file over symlink' },
      { name: 'hard', type: 'symlink', linkname: 'elsewhere' },
      { name: 'target', data: 'new content' },
      { name: 'new', data: 'n' },
      { name: 'new', type: 'link', linkname: 'target' },
    ]);
    expect(kind(join(d, 'dir'))).toBe('file:file over dir:1');
    expect(kind(join(d, 'file'))).toBe('dir');
    expect(lstatSync(join(d, 'file')).mode & 0o7777).toBe(0o750);
    expect(kind(join(d, 'sym'))).toBe('file:file over symlink:1');
    expect(kind(join(d, 'hard'))).toBe('symlink->elsewhere');
    // the old inode of `target` keeps no second name: `target` is a new file, `new` links to it
    expect(kind(join(d, 'target'))).toBe('file:new content:2');
    expect(lstatSync(join(d, 'new')).ino).toBe(lstatSync(join(d, 'target')).ino);
  });

  it('keeps an existing directory (and what is in it) for a directory entry, with the new metadata', async () => {
    const d = lower();
    await apply(d, [{ name: 'dir/', type: 'dir', mode: 0o711, mtime: 123 }]);
    expect(readFileSync(join(d, 'dir/sub/f'), 'utf8')).toBe('below');
    expect(lstatSync(join(d, 'dir')).mode & 0o7777).toBe(0o711);
    expect(lstatSync(join(d, 'dir')).mtimeMs).toBe(123_000);
  });

  it('resolves parents again after a symlink on their path is re-pointed or a directory replaced', async () => {
    const d = mkdtempSync(join(tmpdir(), 'sc-replace-'));
    await apply(d, [
      { name: 'x/', type: 'dir', mode: 0o755 },
      { name: 'y/', type: 'dir', mode: 0o755 },
      { name: 'a', type: 'symlink', linkname: 'x' },
      { name: 'a/one', data: '1' },
      { name: 'a', type: 'symlink', linkname: 'y' },
      { name: 'a/two', data: '2' },
      { name: 'b/', type: 'dir', mode: 0o755 },
      { name: 'b/three', data: '3' },
      { name: 'b', type: 'symlink', linkname: 'x' },
      { name: 'b/four', data: '4' },
    ]);
    expect(readFileSync(join(d, 'x/one'), 'utf8')).toBe('1');
    expect(readFileSync(join(d, 'y/two'), 'utf8')).toBe('2');
    expect(kind(join(d, 'b'))).toBe('symlink->x');
    expect(readFileSync(join(d, 'x/four'), 'utf8')).toBe('4');
  });

  it('writes file data, modes, owners and times through the open file', async () => {
    const d = mkdtempSync(join(tmpdir(), 'sc-replace-'));
    const big = 'z'.repeat(3 * 1024 * 1024 + 5);
    await apply(d, [
      { name: 'suid', data: '#!/bin/sh', mode: 0o4755, uid: 1234, gid: 5678, mtime: 2_000_000_000 },
      { name: 'ro', data: 'read only', mode: 0o400 },
      { name: 'big', data: big },
      { name: 'empty', data: '', mode: 0o600, mtime: 42 },
    ]);
    const st = lstatSync(join(d, 'suid'));
    expect(st.mode & 0o7777).toBe(0o4755);
    if (process.getuid?.() === 0) expect([st.uid, st.gid]).toEqual([1234, 5678]);
    expect(st.mtimeMs).toBe(2_000_000_000_000);
    expect(lstatSync(join(d, 'ro')).mode & 0o7777).toBe(0o400);
    expect(readFileSync(join(d, 'ro'), 'utf8')).toBe('read only');
    expect(readFileSync(join(d, 'big'), 'utf8')).toBe(big);
    expect(lstatSync(join(d, 'empty')).size).toBe(0);
    expect(lstatSync(join(d, 'empty')).mtimeMs).toBe(42_000);
  });

  it.skipIf(process.getuid?.() !== 0)('makes devices, fifos and overlay whiteouts, the last entry of a name winning', async () => {
    const d = mkdtempSync(join(tmpdir(), 'sc-replace-'));
    const entries: E[] = [
      { name: 'dev/', type: 'dir', mode: 0o755 },
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o600 },
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, uid: 7, gid: 8, mtime: 5 },
      { name: 'dev/loop0', type: 'block', devmajor: 7, devminor: 0, mode: 0o660 },
      { name: 'dev/fifo', type: 'fifo', mode: 0o640 },
      { name: 'etc/.wh.passwd', data: '' },
      { name: 'etc/.wh.passwd', data: '' },
    ];
    for (let i = 0; i < 600; i++) entries.push({ name: `many/.wh.f${i}`, data: '' });
    await applyLayer(Readable.from([tarOf(entries)]), d, { whiteouts: 'overlay' });
    const nul = lstatSync(join(d, 'dev/null'));
    expect(nul.isCharacterDevice() && nul.rdev === 0x103).toBe(true);
    expect([nul.mode & 0o7777, nul.uid, nul.gid, nul.mtimeMs]).toEqual([0o666, 7, 8, 5000]);
    const loop = lstatSync(join(d, 'dev/loop0'));
    expect(loop.isBlockDevice() && loop.rdev === 0x700 && (loop.mode & 0o7777) === 0o660).toBe(true);
    expect(lstatSync(join(d, 'dev/fifo')).isFIFO()).toBe(true);
    for (const w of ['etc/passwd', 'many/f0', 'many/f599']) {
      const st = lstatSync(join(d, w));
      expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
    }
  });
});
