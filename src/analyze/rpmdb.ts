/**
 * rpm's package database, read from its bytes. In: the file (`rpmdb.sqlite`, `Packages` or
 * `Packages.db`). Out: the installed packages' headers (name, epoch, version, release, arch, size,
 * files). Pure: no sqlite or Berkeley DB library, only the few structures rpm's three backends use.
 *
 * - sqlite (rpm >= 4.16, `/var/lib/rpm/rpmdb.sqlite`): the `Packages` table (`hnum INTEGER PRIMARY
 *   KEY, blob BLOB`). The reader walks sqlite's file format: the schema table on page 1 gives the
 *   table's root page, then the table b-tree (interior pages 0x05, leaf pages 0x0d) and each row's
 *   record, following overflow pages for blobs larger than a page. A `-wal` file beside it (what a
 *   writer had not checkpointed yet) is applied: its frames up to the last commit whose salts and
 *   running checksums hold replace the pages they name, as sqlite reads them.
 * - Berkeley DB hash (rpm < 4.16, `/var/lib/rpm/Packages`): every hash page's values (odd items),
 *   inline or, as header blobs always are but the smallest, on a chain of overflow pages. Byte order
 *   from the metadata page's magic.
 * - ndb (SUSE, `/usr/lib/sysimage/rpm/Packages.db`): slot pages (`Slot`: package index, block
 *   offset, block count) after the 32-byte `RpmP` header, each pointing at a `BlbS` blob of 16-byte
 *   blocks; little-endian.
 *
 * A header blob (rpm's headerExport, without the 8-byte magic of a .rpm file): index count and data
 * length (big-endian int32), that many 16-byte entries (tag, type, offset, count), then the data.
 */

export interface RpmPackage {
  name: string;
  epoch?: number;
  version: string;
  release: string;
  arch: string;
  /** The SIZE tag: bytes of the installed files as rpm counts them. */
  size: number;
  /** Installed paths, absolute. */
  files: string[];
}

export type RpmDbFormat = 'sqlite' | 'bdb' | 'ndb';

export class RpmDbError extends Error {}

/** Which backend wrote these bytes, by their magic; undefined when none. */
export function rpmDbFormat(b: Uint8Array): RpmDbFormat | undefined {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length >= 100 && buf.toString('latin1', 0, 16) === 'SQLite format 3\0') return 'sqlite';
  if (buf.length >= 32 && buf.toString('latin1', 0, 4) === 'RpmP') return 'ndb';
  if (buf.length >= 512 && (buf.readUInt32LE(12) === BDB_HASH_MAGIC || buf.readUInt32BE(12) === BDB_HASH_MAGIC)) return 'bdb';
  return undefined;
}

/** Every package header of an rpm database (any backend; `wal`: sqlite's write-ahead log beside it). Throws RpmDbError on a file it cannot read. */
export function readRpmDb(b: Uint8Array, wal?: Uint8Array): RpmPackage[] {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const format = rpmDbFormat(buf);
  const blobs = format === 'sqlite' ? sqliteTable(buf, 'Packages', wal && Buffer.from(wal.buffer, wal.byteOffset, wal.byteLength)).map((row) => row[1]).filter((v): v is Buffer => Buffer.isBuffer(v)) : format === 'bdb' ? bdbHashValues(buf) : format === 'ndb' ? ndbBlobs(buf) : undefined;
  if (!blobs) throw new RpmDbError('not an rpm database (sqlite, Berkeley DB hash or ndb)');
  const out: RpmPackage[] = [];
  for (const blob of blobs) {
    const p = rpmHeader(blob);
    if (p) out.push(p);
  }
  return out;
}

// --- header blobs -----------------------------------------------------------------------------

const TAG = { NAME: 1000, VERSION: 1001, RELEASE: 1002, EPOCH: 1003, SIZE: 1009, OLDFILENAMES: 1027, FILESIZES: 1028, ARCH: 1022, DIRINDEXES: 1116, BASENAMES: 1117, DIRNAMES: 1118, LONGSIZE: 5009 } as const;
const TYPE = { INT16: 3, INT32: 4, INT64: 5, STRING: 6, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

type Value = string[] | number[];

/** One header blob → the package it describes; undefined when it has no name (not a package header). */
export function rpmHeader(blob: Buffer): RpmPackage | undefined {
  if (blob.length < 8) return undefined;
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  const dataAt = 8 + il * 16;
  if (il > 0xffff || dataAt + dl > blob.length) throw new RpmDbError('rpm header blob is truncated');
  const tags = new Map<number, Value>();
  for (let i = 0; i < il; i++) {
    const e = 8 + i * 16;
    const tag = blob.readUInt32BE(e);
    const type = blob.readUInt32BE(e + 4);
    const off = dataAt + blob.readUInt32BE(e + 8);
    const count = blob.readUInt32BE(e + 12);
    if (tags.has(tag) || off > dataAt + dl) continue;
    const end = dataAt + dl;
    if (type === TYPE.STRING || type === TYPE.STRING_ARRAY || type === TYPE.I18NSTRING) {
      const strs: string[] = [];
      let p = off;
      for (let k = 0; k < (type === TYPE.STRING ? 1 : count) && p < end; k++) {
        const z = blob.indexOf(0, p);
        const stop = z < 0 || z > end ? end : z;
        strs.push(blob.toString('utf8', p, stop));
        p = stop + 1;
      }
      tags.set(tag, strs);
    } else if (type === TYPE.INT16 || type === TYPE.INT32 || type === TYPE.INT64) {
      const w = type === TYPE.INT16 ? 2 : type === TYPE.INT32 ? 4 : 8;
      const nums: number[] = [];
      for (let k = 0; k < count && off + (k + 1) * w <= end; k++) {
        const at = off + k * w;
        nums.push(w === 2 ? blob.readUInt16BE(at) : w === 4 ? blob.readUInt32BE(at) : Number(blob.readBigUInt64BE(at)));
      }
      tags.set(tag, nums);
    }
  }
  const str = (t: number): string | undefined => (tags.get(t) as string[] | undefined)?.[0];
  const num = (t: number): number | undefined => (tags.get(t) as number[] | undefined)?.[0];
  const name = str(TAG.NAME);
  if (!name) return undefined;
  const basenames = (tags.get(TAG.BASENAMES) as string[] | undefined) ?? [];
  const dirnames = (tags.get(TAG.DIRNAMES) as string[] | undefined) ?? [];
  const dirindexes = (tags.get(TAG.DIRINDEXES) as number[] | undefined) ?? [];
  const files = basenames.length ? basenames.map((b, i) => `${dirnames[dirindexes[i]] ?? ''}${b}`) : ((tags.get(TAG.OLDFILENAMES) as string[] | undefined) ?? []);
  const epoch = num(TAG.EPOCH);
  return {
    name,
    ...(epoch !== undefined ? { epoch } : {}),
    version: str(TAG.VERSION) ?? '',
    release: str(TAG.RELEASE) ?? '',
    arch: str(TAG.ARCH) ?? '',
    size: num(TAG.LONGSIZE) ?? num(TAG.SIZE) ?? 0,
    files,
  };
}

// --- sqlite -----------------------------------------------------------------------------------

/** sqlite's variable-length integer at `off`: [value, next offset]. */
function sqliteVarint(b: Buffer, off: number): [number, number] {
  let v = 0n;
  for (let i = 0; i < 9; i++) {
    const c = b[off + i];
    if (c === undefined) throw new RpmDbError('sqlite: truncated varint');
    if (i === 8) return [Number((v << 8n) | BigInt(c)), off + 9];
    v = (v << 7n) | BigInt(c & 0x7f);
    if (c < 0x80) return [Number(v), off + i + 1];
  }
  return [Number(v), off + 9];
}

type Cell = null | number | string | Buffer;

/** A record (sqlite's row format) → its column values. */
function sqliteRecord(p: Buffer): Cell[] {
  const [hdrLen, first] = sqliteVarint(p, 0);
  const types: number[] = [];
  for (let off = first; off < hdrLen; ) {
    const [t, next] = sqliteVarint(p, off);
    types.push(t);
    off = next;
  }
  const out: Cell[] = [];
  let at = hdrLen;
  for (const t of types) {
    if (t === 0) out.push(null);
    else if (t >= 1 && t <= 6) {
      const n = [0, 1, 2, 3, 4, 6, 8][t];
      out.push(n === 8 ? Number(p.readBigInt64BE(at)) : p.readIntBE(at, n));
      at += n;
    } else if (t === 7) {
      out.push(p.readDoubleBE(at));
      at += 8;
    } else if (t === 8 || t === 9) out.push(t - 8);
    else if (t >= 12) {
      const n = Math.floor((t - 12) / 2);
      out.push(t % 2 === 0 ? p.subarray(at, at + n) : p.toString('utf8', at, at + n));
      at += n;
    }
  }
  return out;
}

/**
 * The committed pages of a write-ahead log: page number → page. A frame counts when its salts are the
 * header's and its running checksum (sqlite's: two 32-bit sums over 8-byte words, byte order from
 * the magic) holds; only frames up to the last commit frame (non-zero database size) apply.
 */
export function sqliteWalPages(wal: Buffer, pageSize: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  if (wal.length < 32) return out;
  const magic = wal.readUInt32BE(0);
  if ((magic & 0xfffffffe) !== 0x377f0682 || wal.readUInt32BE(8) !== pageSize) return out;
  const be = (magic & 1) === 1;
  let s0 = 0;
  let s1 = 0;
  const sum = (b: Buffer, from: number, to: number): void => {
    for (let i = from; i < to; i += 8) {
      s0 = (s0 + (be ? b.readUInt32BE(i) : b.readUInt32LE(i)) + s1) >>> 0;
      s1 = (s1 + (be ? b.readUInt32BE(i + 4) : b.readUInt32LE(i + 4)) + s0) >>> 0;
    }
  };
  sum(wal, 0, 24);
  if (s0 !== wal.readUInt32BE(24) || s1 !== wal.readUInt32BE(28)) return out;
  const pending = new Map<number, Buffer>();
  for (let f = 32; f + 24 + pageSize <= wal.length; f += 24 + pageSize) {
    if (wal.readUInt32BE(f + 8) !== wal.readUInt32BE(16) || wal.readUInt32BE(f + 12) !== wal.readUInt32BE(20)) break;
    sum(wal, f, f + 8);
    sum(wal, f + 24, f + 24 + pageSize);
    if (s0 !== wal.readUInt32BE(f + 16) || s1 !== wal.readUInt32BE(f + 20)) break;
    pending.set(wal.readUInt32BE(f), wal.subarray(f + 24, f + 24 + pageSize));
    if (wal.readUInt32BE(f + 4) !== 0) {
      for (const [n, pg] of pending) out.set(n, pg);
      pending.clear();
    }
  }
  return out;
}

/** The rows of a table, in rowid order, each as its column values (an INTEGER PRIMARY KEY column reads as null, as sqlite stores it). */
export function sqliteTable(file: Buffer, table: string, wal?: Buffer): Cell[][] {
  if (file.toString('latin1', 0, 16) !== 'SQLite format 3\0') throw new RpmDbError('not an sqlite database');
  const raw = file.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  const usable = pageSize - file[20];
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) throw new RpmDbError('sqlite: bad page size');
  const logged = wal ? sqliteWalPages(wal, pageSize) : new Map<number, Buffer>();
  const pages = Math.max(Math.floor(file.length / pageSize), ...logged.keys());
  const page = (n: number): Buffer => {
    const w = logged.get(n);
    if (w) return w;
    if (n < 1 || n * pageSize > file.length) throw new RpmDbError(`sqlite: page ${n} is past the end of the file`);
    return file.subarray((n - 1) * pageSize, n * pageSize);
  };
  const rows = (root: number): Cell[][] => {
    const out: Cell[][] = [];
    const seen = new Set<number>();
    const walk = (n: number): void => {
      if (seen.has(n)) throw new RpmDbError('sqlite: b-tree loop');
      seen.add(n);
      const pg = page(n);
      const h = n === 1 ? 100 : 0;
      const kind = pg[h];
      const cells = pg.readUInt16BE(h + 3);
      const ptrs = h + (kind === 0x05 ? 12 : 8);
      for (let i = 0; i < cells; i++) {
        const c = pg.readUInt16BE(ptrs + 2 * i);
        if (kind === 0x05) walk(pg.readUInt32BE(c));
        else if (kind === 0x0d) out.push(sqliteRecord(leafPayload(pg, c)));
        else throw new RpmDbError(`sqlite: page ${n} is not a table b-tree page`);
      }
      if (kind === 0x05) walk(pg.readUInt32BE(h + 8));
    };
    const leafPayload = (pg: Buffer, c: number): Buffer => {
      const [size, a] = sqliteVarint(pg, c);
      const [, start] = sqliteVarint(pg, a); // rowid
      const x = usable - 35;
      if (size <= x) return pg.subarray(start, start + size);
      const m = Math.floor(((usable - 12) * 32) / 255) - 23;
      const k = m + ((size - m) % (usable - 4));
      const local = k <= x ? k : m;
      const parts = [pg.subarray(start, start + local)];
      let got = local;
      for (let next = pg.readUInt32BE(start + local), hops = 0; got < size; hops++) {
        if (next === 0 || hops > pages) throw new RpmDbError('sqlite: overflow chain is broken');
        const ov = page(next);
        const take = Math.min(usable - 4, size - got);
        parts.push(ov.subarray(4, 4 + take));
        got += take;
        next = ov.readUInt32BE(0);
      }
      return Buffer.concat(parts, size);
    };
    walk(root);
    return out;
  };
  const schema = rows(1);
  const entry = schema.find((r) => r[0] === 'table' && typeof r[1] === 'string' && r[1].toLowerCase() === table.toLowerCase());
  if (!entry || typeof entry[3] !== 'number') throw new RpmDbError(`sqlite: no table ${table}`);
  return rows(entry[3]);
}

// --- Berkeley DB hash -------------------------------------------------------------------------

const BDB_HASH_MAGIC = 0x061561;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;

/** The values of a Berkeley DB hash database (the data half of each key/data pair). */
export function bdbHashValues(file: Buffer): Buffer[] {
  const le = file.readUInt32LE(12) === BDB_HASH_MAGIC;
  if (!le && file.readUInt32BE(12) !== BDB_HASH_MAGIC) throw new RpmDbError('not a Berkeley DB hash database');
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const pageSize = u32(file, 20);
  if (pageSize < 512 || pageSize > 65536) throw new RpmDbError('Berkeley DB: bad page size');
  const lastPage = u32(file, 32);
  const pages = Math.min(lastPage + 1, Math.floor(file.length / pageSize));
  const page = (n: number): Buffer => {
    if (n >= pages) throw new RpmDbError(`Berkeley DB: page ${n} is past the end of the file`);
    return file.subarray(n * pageSize, (n + 1) * pageSize);
  };
  const HDR = 26;
  const overflow = (first: number, total: number): Buffer => {
    const parts: Buffer[] = [];
    let got = 0;
    for (let n = first, hops = 0; n !== 0 && got < total; hops++) {
      if (hops > pages) throw new RpmDbError('Berkeley DB: overflow chain loops');
      const pg = page(n);
      if (pg[25] !== P_OVERFLOW) throw new RpmDbError(`Berkeley DB: page ${n} is not an overflow page`);
      const len = u16(pg, 22); // hf_offset: bytes used on an overflow page
      parts.push(pg.subarray(HDR, HDR + len));
      got += len;
      n = u32(pg, 16);
    }
    return Buffer.concat(parts).subarray(0, total);
  };
  const out: Buffer[] = [];
  for (let n = 1; n < pages; n++) {
    const pg = page(n);
    const type = pg[25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const entries = u16(pg, 20);
    const offs: number[] = [];
    for (let i = 0; i < entries; i++) offs.push(u16(pg, HDR + 2 * i));
    for (let i = 1; i < entries; i += 2) {
      const o = offs[i];
      const kind = pg[o];
      if (kind === H_OFFPAGE) out.push(overflow(u32(pg, o + 4), u32(pg, o + 8)));
      else if (kind === H_KEYDATA) out.push(pg.subarray(o + 1, offs[i - 1]));
    }
  }
  return out;
}

// --- ndb --------------------------------------------------------------------------------------

/** The blobs of an ndb `Packages.db`, in slot order. */
export function ndbBlobs(file: Buffer): Buffer[] {
  if (file.toString('latin1', 0, 4) !== 'RpmP') throw new RpmDbError('not an ndb Packages.db');
  const slotPages = file.readUInt32LE(12);
  const PAGE = 4096;
  const BLK = 16;
  const out: Buffer[] = [];
  for (let off = 32; off < slotPages * PAGE && off + 16 <= file.length; off += 16) {
    if (file.toString('latin1', off, off + 4) !== 'Slot') throw new RpmDbError('ndb: bad slot');
    const pkgIdx = file.readUInt32LE(off + 4);
    const blkOff = file.readUInt32LE(off + 8);
    if (pkgIdx === 0 || blkOff === 0) continue;
    const at = blkOff * BLK;
    if (at + 16 > file.length || file.toString('latin1', at, at + 4) !== 'BlbS' || file.readUInt32LE(at + 4) !== pkgIdx) throw new RpmDbError(`ndb: bad blob for package ${pkgIdx}`);
    const len = file.readUInt32LE(at + 12);
    if (at + 16 + len > file.length) throw new RpmDbError(`ndb: blob of package ${pkgIdx} is truncated`);
    out.push(file.subarray(at + 16, at + 16 + len));
  }
  return out;
}
