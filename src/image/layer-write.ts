/**
 * Directory → OCI layer blob in the store.
 *
 * `packDir(dir)` walks a directory depth-first with names sorted bytewise and yields a deterministic
 * tar stream: uid/gid/mode/mtime from lstat (mtime clamped to SOURCE_DATE_EPOCH when given), no
 * uname/gname, hard links as link entries, xattrs as PAX SCHILY.xattr records (read with one
 * getfattr call). With `overlayUpper`, the directory is an overlayfs upper dir and its whiteouts are
 * translated to OCI form: char device 0/0 (or the `.wh.NAME` file some stores hold instead, see
 * worker/snapshot/upper.ts) → `.wh.NAME`, `trusted.overlay.opaque=y` (`user.overlay.opaque` in a user namespace) → `DIR/.wh..wh..opq`.
 *
 * `writeLayer(store, dir)` tees that stream through sha256 (diffID), compression (parallel gzip by
 * default, zstd, or none: the builder's own layers, compressed when they leave the machine, see
 * layer-export.ts) and the store's blob writer (digest) in one pass, and records the uncompressed
 * size beside the blob.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import type { BlobStore as Store } from './store-api.js';
import { MediaType, type Descriptor } from './types.js';
import { encodeHeader, padLen, TAR_END, TarContentSize, type TarHeader } from './tar.js';
import { compress, type Compression } from './compress.js';
import { readXattrsTree } from './xattrs.js';
import { WH_PREFIX, whiteoutFileTarget } from './whiteout.js';
import { isOverlayXattr, overlayOpaqueXattr } from '../util/userns.js';

export interface PackOptions {
  overlayUpper?: boolean;
  sourceDateEpoch?: number;
  /** skip reading xattrs (no getfattr) */
  noXattrs?: boolean;
}

export interface PackStats {
  files: number;
}

const READ_CHUNK = 1 << 20;
/** files up to this size go into the current batch; bigger ones are yielded chunk by chunk */
const SMALL_FILE = 256 * 1024;

function sortBytewise(names: string[]): string[] {
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * An overlay upper dir's names in tar order: a `.wh.NAME` file whiteout sorts where NAME (its char
 * 0/0 form) would, so both forms give the same layer.
 */
function sortUpper(names: string[]): string[] {
  const key = (n: string): Buffer => Buffer.from(whiteoutFileTarget(n) ?? n);
  return names.map((n) => [key(n), n] as const).sort((a, b) => Buffer.compare(a[0], b[0]) || Buffer.compare(Buffer.from(a[1]), Buffer.from(b[1]))).map(([, n]) => n);
}

/** Deterministic tar of `dir` (see module comment). `stats.files` counts entries written. */
export async function* packDir(dir: string, opts: PackOptions = {}, stats: PackStats = { files: 0 }): AsyncGenerator<Buffer> {
  const xattrs = opts.noXattrs ? new Map<string, Map<string, Buffer>>() : await readXattrsTree(dir);
  const links = new Map<string, string>();
  const epoch = opts.sourceDateEpoch;
  const mtimeOf = (st: Stats): number => {
    const m = Math.floor(st.mtimeMs / 1000);
    return epoch !== undefined && m > epoch ? epoch : Math.max(0, m);
  };
  const attrsFor = (rel: string): Map<string, Buffer> | undefined => {
    const a = xattrs.get(rel);
    if (!a) return undefined;
    const out = new Map<string, Buffer>();
    for (const k of [...a.keys()].sort()) {
      if (isOverlayXattr(k)) continue; // overlayfs bookkeeping, never part of a layer
      out.set(k, a.get(k) as Buffer);
    }
    return out.size ? out : undefined;
  };
  // modes as BuildKit writes them (checked against Docker 26): 0600 for `.wh.NAME`, 0755 for the opaque marker
  const whiteoutHeader = (name: string): TarHeader => ({ name, type: 'file', mode: name.endsWith('/.wh..wh..opq') || name === '.wh..wh..opq' ? 0o755 : 0o600, uid: 0, gid: 0, size: 0, mtime: epoch ?? 0 });

  // Metadata and files are read synchronously (a few microseconds each, where an async call costs a
  // threadpool round trip); small files are batched into ~1 MiB chunks, big ones yielded 1 MiB at a
  // time. The event loop gets a turn every 256 entries or 1 MiB chunks so progress and parallel
  // steps stay live.
  let batch: Buffer[] = [];
  let batchLen = 0;
  let sinceYield = 0;
  const push = (b: Buffer): void => {
    batch.push(b);
    batchLen += b.length;
  };
  function* flush(): Generator<Buffer> {
    if (batchLen === 0) return;
    const out = batch.length === 1 ? batch[0] : Buffer.concat(batch, batchLen);
    batch = [];
    batchLen = 0;
    yield out;
  }

  async function* walk(rel: string): AsyncGenerator<Buffer> {
    const abs = rel === '' ? dir : join(dir, rel);
    const names = opts.overlayUpper ? sortUpper(readdirSync(abs)) : sortBytewise(readdirSync(abs));
    for (const name of names) {
      if (++sinceYield >= 256) {
        sinceYield = 0;
        yield* flush();
        await new Promise<void>((r) => setImmediate(r));
      }
      const r = rel === '' ? name : `${rel}/${name}`;
      const p = join(abs, name);
      const st = lstatSync(p);
      const base: Omit<TarHeader, 'name' | 'type' | 'size'> = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: mtimeOf(st), xattrs: attrsFor(r) };
      if (opts.overlayUpper && ((st.isCharacterDevice() && st.rdev === 0) || (st.isFile() && whiteoutFileTarget(name) !== undefined))) {
        const wh = st.isFile() ? name : `${WH_PREFIX}${name}`;
        push(encodeHeader(whiteoutHeader(rel === '' ? wh : `${rel}/${wh}`)));
        stats.files++;
        continue;
      }
      if (st.isDirectory()) {
        push(encodeHeader({ ...base, name: `${r}/`, type: 'dir', size: 0 }));
        stats.files++;
        if (opts.overlayUpper && xattrs.get(r)?.get(overlayOpaqueXattr())?.toString() === 'y') {
          push(encodeHeader(whiteoutHeader(`${r}/.wh..wh..opq`)));
          stats.files++;
        }
        yield* walk(r);
        continue;
      }
      if (st.isSymbolicLink()) {
        push(encodeHeader({ ...base, name: r, type: 'symlink', size: 0, linkname: readlinkSync(p) }));
        stats.files++;
        continue;
      }
      if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
        const type = st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : 'block';
        const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn) | Number((BigInt(st.rdev) >> 32n) & ~0xfffn);
        const minor = Number(BigInt(st.rdev) & 0xffn) | Number((BigInt(st.rdev) >> 12n) & ~0xffn);
        push(encodeHeader({ ...base, name: r, type, size: 0, devmajor: major, devminor: minor }));
        stats.files++;
        continue;
      }
      if (!st.isFile()) continue; // sockets are not archived (like tar)
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = links.get(key);
        if (first !== undefined) {
          push(encodeHeader({ ...base, name: r, type: 'link', size: 0, linkname: first }));
          stats.files++;
          continue;
        }
        links.set(key, r);
      }
      push(encodeHeader({ ...base, name: r, type: 'file', size: st.size }));
      stats.files++;
      if (st.size > 0) {
        // the size is known from lstat: open + read + close, no fstat (readFileSync's)
        if (st.size > SMALL_FILE) yield* flush();
        const fd = openSync(p, 'r');
        try {
          let left = st.size;
          while (left > 0) {
            const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, left));
            let got = 0;
            while (got < buf.length) {
              const n = readSync(fd, buf, got, buf.length - got, null);
              if (n === 0) throw new Error(`${p} shrank while it was being archived`);
              got += n;
            }
            left -= got;
            if (st.size <= SMALL_FILE) push(buf);
            else {
              yield buf;
              if (++sinceYield >= 256) {
                sinceYield = 0;
                await new Promise<void>((r) => setImmediate(r));
              }
            }
          }
        } finally {
          closeSync(fd);
        }
      }
      const pad = padLen(st.size);
      if (pad) push(Buffer.alloc(pad));
      if (batchLen >= READ_CHUNK) yield* flush();
    }
  }
  yield* walk('');
  yield* flush();
  yield TAR_END;
}

/**
 * The layer tar of a build snapshot (an overlay upper dir the store adopted): THE packing options
 * the builder measures a step's diffID with, so the same bytes can be made again later from the
 * snapshot (the store's lazy layer blobs: see Store.blobStream).
 */
export function packSnapshot(dir: string): AsyncGenerator<Buffer> {
  return packDir(dir, { overlayUpper: true });
}

export interface WriteLayerOptions extends PackOptions {
  /** default gzip; the builder stores its layers uncompressed ('none') and compresses on export */
  compression?: Compression;
  /** compression workers (default: all cores) */
  workers?: number;
}

export interface WrittenLayer {
  descriptor: Descriptor;
  diffId: string;
  files: number;
  /** uncompressed tar size */
  size: number;
  /** docker's size of the unpacked layer (see TarContentSize) */
  contentSize: number;
}

/** Stores any uncompressed tar stream as a layer: diffID, compression and digest in one pass. */
export async function writeTarAsLayer(store: Store, tar: AsyncIterable<Buffer>, opts: { compression?: Compression; workers?: number } = {}): Promise<Omit<WrittenLayer, 'files'>> {
  const kind = opts.compression ?? 'gzip';
  // uncompressed: the blob's digest is the diffID, hashed once by the store
  const h = kind === 'none' ? undefined : createHash('sha256');
  const content = new TarContentSize();
  let size = 0;
  async function* tee(): AsyncGenerator<Buffer> {
    for await (const c of tar) {
      h?.update(c);
      content.push(c);
      size += c.length;
      yield c;
    }
  }
  const { digest, size: csize } = await store.putBlob(compress(tee(), kind, { workers: opts.workers }));
  const diffId = h ? `sha256:${h.digest('hex')}` : digest;
  await store.recordLayer({ digest, diffId, size, contentSize: content.total });
  const mediaType = kind === 'zstd' ? MediaType.OciLayerZstd : kind === 'none' ? MediaType.OciLayerTar : MediaType.OciLayerGzip;
  return { descriptor: { mediaType, digest, size: csize }, diffId, size, contentSize: content.total };
}

/** Directory → layer blob in the store (see module comment). */
export async function writeLayer(store: Store, dir: string, opts: WriteLayerOptions = {}): Promise<WrittenLayer> {
  const stats: PackStats = { files: 0 };
  const r = await writeTarAsLayer(store, packDir(dir, opts, stats), { compression: opts.compression ?? 'gzip', workers: opts.workers });
  return { ...r, files: stats.files };
}
