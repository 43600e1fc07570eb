/**
 * rpm databases read byte by byte: the fixtures in test/fixtures/rpm were made by rpm 4.18 and
 * db5.3_load (test/fixtures/rpm/make.sh) and `expected.txt` is what `rpm -qa` printed for them. ndb
 * has no writer on Debian, so its file is laid out here from rpm's lib/backend/ndb/rpmpkg.c (a
 * 32-byte `RpmP` header, 16-byte `Slot`s, `BlbS`...`BlbE` blobs in 16-byte blocks, little-endian)
 * around the real header blobs of the sqlite fixture. The WAL pair is sqlite's own (wal.sh).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readRpmDb, rpmDbFormat, RpmDbError, sqliteTable, type RpmPackage } from '../rpmdb.js';
import { findPackages } from '../packages.js';
import { mergeLayers } from '../tree.js';
import type { ImageModel, LayerEntry } from '../model.js';

const FIX = join(import.meta.dirname, '../../../test/fixtures/rpm');
const fixture = (name: string): Buffer => gunzipSync(readFileSync(join(FIX, name)));
const line = (p: RpmPackage): string => `${p.name} ${p.epoch ?? 0}:${p.version}-${p.release} ${p.arch} ${p.size} ${p.files.join(' ')}`;
const expected = readFileSync(join(FIX, 'expected.txt'), 'utf8').trimEnd().split('\n').map((l) => l.trimEnd());

function ndbFrom(blobs: Buffer[]): Buffer {
  const PAGE = 4096;
  const slots = Buffer.alloc(PAGE);
  slots.write('RpmP', 0, 'latin1');
  slots.writeUInt32LE(0, 4); // version
  slots.writeUInt32LE(7, 8); // generation
  slots.writeUInt32LE(1, 12); // slot pages
  slots.writeUInt32LE(blobs.length + 1, 16); // next package index
  for (let o = 32; o < PAGE; o += 16) slots.write('Slot', o, 'latin1');
  const parts: Buffer[] = [slots];
  let blk = PAGE / 16;
  blobs.forEach((b, i) => {
    const blkcnt = Math.ceil((16 + b.length + 12) / 16);
    const blob = Buffer.alloc(blkcnt * 16);
    blob.write('BlbS', 0, 'latin1');
    blob.writeUInt32LE(i + 1, 4);
    blob.writeUInt32LE(7, 8);
    blob.writeUInt32LE(b.length, 12);
    b.copy(blob, 16);
    blob.writeUInt32LE(b.length, blob.length - 8);
    blob.write('BlbE', blob.length - 4, 'latin1');
    const slot = 32 + i * 16;
    slots.writeUInt32LE(i + 1, slot + 4);
    slots.writeUInt32LE(blk, slot + 8);
    slots.writeUInt32LE(blkcnt, slot + 12);
    parts.push(blob);
    blk += blkcnt;
  });
  return Buffer.concat(parts);
}

describe('rpm databases', () => {
  it('sqlite (interior b-tree page, overflow pages) and Berkeley DB hash give what rpm -qa gives', () => {
    for (const [name, format] of [['rpmdb.sqlite.gz', 'sqlite'], ['Packages.bdb.gz', 'bdb']] as const) {
      const db = fixture(name);
      expect(rpmDbFormat(db)).toBe(format);
      expect(readRpmDb(db).map(line).sort(), name).toEqual(expected);
    }
    expect(expected.find((l) => l.startsWith('sc-many '))?.split(' ').length).toBe(405); // a 60 kB header blob
  });

  it('ndb: slots and blobs around the same header blobs', () => {
    const blobs = sqliteTable(fixture('rpmdb.sqlite.gz'), 'Packages').map((r) => r[1] as Buffer);
    const db = ndbFrom(blobs);
    expect(rpmDbFormat(db)).toBe('ndb');
    expect(readRpmDb(db).map(line).sort()).toEqual(expected);
  });

  it('sqlite write-ahead log: committed frames apply, a frame with a bad checksum ends the log', () => {
    const db = fixture('wal.rpmdb.sqlite.gz');
    const wal = fixture('wal.rpmdb.sqlite-wal.gz');
    const names = (w?: Buffer) => readRpmDb(db, w).map((p) => p.name);
    expect(names()).toContain('sc-hello'); // the file alone: before the erase
    expect(names(wal)).toHaveLength(14);
    expect(names(wal)).not.toContain('sc-hello');
    const bad = Buffer.from(wal);
    bad[32 + 24 + 100] ^= 0xff; // in the first frame's page
    expect(names(bad)).toHaveLength(15);
  });

  it('a damaged database is a clear error, not a crash', () => {
    const db = fixture('rpmdb.sqlite.gz');
    expect(() => readRpmDb(db.subarray(0, 8192))).toThrow(RpmDbError);
    expect(() => readRpmDb(Buffer.from('not a database at all, not at all'.repeat(20)))).toThrow(/not an rpm database/);
  });

  it('packages: name, version-release, arch, size from the visible files, installing layer, owners, tools', () => {
    const db = fixture('rpmdb.sqlite.gz');
    const f = (path: string, size: number, extra: Partial<LayerEntry> = {}): LayerEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size, ...extra });
    const img: ImageModel = {
      name: 'x',
      id: 'x',
      history: [],
      layers: [
        { index: 0, digest: 'sha256:0', diffId: '', compressedSize: 0, entries: [f('etc/os-release', 10)] },
        {
          index: 1, digest: 'sha256:1', diffId: '', compressedSize: 0, createdBy: 'RUN dnf install sc-hello gcc',
          attribution: { stage: 'build', stageIndex: 0, line: 2, instruction: 'RUN dnf install sc-hello gcc' },
          entries: [f('var/lib/rpm/rpmdb.sqlite', db.length, { data: db }), f('usr/bin/sc-hello', 22), f('usr/share/sc-hello/data.txt', 3000), f('usr/libexec/gcc/cc1', 12345)],
        },
      ],
    };
    const r = findPackages(img, mergeLayers(img.layers));
    const hello = r.packages.find((p) => p.name === 'sc-hello');
    expect(hello).toMatchObject({ ecosystem: 'rpm', version: '1.2.3-4.fc40', arch: 'x86_64', bytes: 3022, files: 2, path: '/usr/share/sc-hello/data.txt', layer: 1, stage: 'build', line: 2 });
    expect(r.packages.find((p) => p.name === 'gcc')).toMatchObject({ version: '13.2.1-1.el9', arch: 'noarch', bytes: 12345, tool: 'compiler' });
    // a package whose files are not in the tree falls back to the size rpm records
    expect(r.packages.find((p) => p.name === 'sc-filler-10')).toMatchObject({ bytes: 3, files: 0, path: '/var/lib/rpm/rpmdb.sqlite' });
    expect(r.packages.filter((p) => p.ecosystem === 'rpm')).toHaveLength(15);
    expect(r.owners.get('usr/bin/sc-hello')).toBe(r.packages.indexOf(hello as never));
    expect(r.notes).toEqual([]);
  });
});
