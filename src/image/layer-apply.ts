/**
 * THE safe extractor: a (gzip/zstd/plain, sniffed) tar stream → files under `target`.
 *
 * Untrusted layers never write outside `target`:
 * - entry names are cleaned; absolute names are taken relative to the target (like GNU tar);
 *   a name that climbs above the root with `..` is rejected;
 * - parent directories are resolved with `resolveInRoot` (symlinks followed as the container would,
 *   clamped to the root), the final component is never followed: an existing file, symlink or
 *   directory at that path is removed first and files are created with O_EXCL|O_NOFOLLOW;
 * - hard-link targets resolve inside the root too and must not be directories;
 * - whiteout names that are empty, `.`, `..` or contain a slash are rejected.
 *
 * Whiteouts: 'apply' deletes what `.wh.NAME` / `.wh..wh..opq` hide (flattening a stack into one dir);
 * 'overlay' turns them into what overlayfs expects (char device 0/0; `trusted.overlay.opaque=y`)
 * so an unpacked layer can be used as a lowerdir; 'none' extracts them as ordinary files (ADD).
 * Devices, whiteout nodes and xattrs are made after all entries, by paths re-resolved in the root
 * (mknod never follows a final symlink, setfattr runs with -h), then directory mtimes are set.
 */
import { spawn } from 'node:child_process';
import { constants as fsc } from 'node:fs';
import * as fss from 'node:fs';

// Extraction makes several metadata calls per entry; the synchronous calls take microseconds where
// the promise versions each cost a threadpool round trip (7.6 s -> well under half for a 240 MB
// Debian layer). Same names and shapes as node:fs/promises, so the logic below reads the same.
const chmod = async (p: string, m: number) => fss.chmodSync(p, m);
const lchown = async (p: string, u: number, g: number) => fss.lchownSync(p, u, g);
const link = async (a: string, b: string) => fss.linkSync(a, b);
const lstat = async (p: string) => fss.lstatSync(p);
const lutimes = async (p: string, a: number, m: number) => fss.lutimesSync(p, a, m);
const mkdir = async (p: string, o: fss.MakeDirectoryOptions & { recursive?: boolean }) => void fss.mkdirSync(p, o);
const readdir = async (p: string) => fss.readdirSync(p);
const rm = async (p: string, o: fss.RmOptions) => fss.rmSync(p, o);
const symlink = async (t: string, p: string) => fss.symlinkSync(t, p);
const unlink = async (p: string) => fss.unlinkSync(p);
const open = async (p: string, flags: number, mode: number) => {
  const fd = fss.openSync(p, flags, mode);
  return {
    write: async (b: Buffer, off: number, len: number) => ({ bytesWritten: fss.writeSync(fd, b, off, len) }),
    close: async () => fss.closeSync(fd),
  };
};
import { posix } from 'node:path';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { UserError } from '../util/errors.js';
import { isWithin, resolveInRoot } from '../util/fspath.js';
import { decompress } from './compress.js';
import { readTar, TarContentSize, TarFormatError, type TarEntry } from './tar.js';
import { restoreXattrs } from './xattrs.js';

export type WhiteoutMode = 'apply' | 'overlay' | 'none';

export interface ApplyOptions {
  whiteouts: WhiteoutMode;
  /** chown entries to their uid/gid (default: when running as root) */
  sameOwner?: boolean;
}

export interface ApplyStats {
  entries: number;
  bytes: number;
}

const WH = '.wh.';
const OPQ = '.wh..wh..opq';

/** Splits an entry name into clean relative components; throws when it would leave the root. */
export function cleanEntryName(name: string): string[] {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new UserError(`invalid layer: entry ${JSON.stringify(name)} points outside the root`);
      out.pop();
    } else out.push(part);
  }
  return out;
}

function mknod(path: string, kind: 'c' | 'b' | 'p', major = 0, minor = 0): Promise<void> {
  const args = kind === 'p' ? [path, 'p'] : [path, kind, String(major), String(minor)];
  return new Promise((resolve, reject) => {
    const p = spawn('mknod', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => reject(e));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`mknod ${path}: ${err.trim()}`))));
  });
}

async function lstatOrUndef(p: string) {
  try {
    return await lstat(p);
  } catch {
    return undefined;
  }
}

async function* chunksOf(src: Readable | AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const c of src as AsyncIterable<Buffer | string>) yield typeof c === 'string' ? Buffer.from(c) : c;
}

/** Extracts a layer into `target` (which must exist). See the module comment for the guarantees. */
export async function applyLayer(tar: Readable | AsyncIterable<Buffer>, target: string, opts: ApplyOptions): Promise<ApplyStats> {
  try {
    return await applyInner(tar, target, opts);
  } catch (e) {
    if (e instanceof TarFormatError) throw new UserError(`invalid layer: ${e.message}`);
    if (e instanceof UserError) throw e;
    const m = (e as Error).message ?? String(e);
    if (/^corrupt (gzip|zstd)/.test(m) || /incorrect header check|unexpected end of file|invalid .* (block|distance)/i.test(m)) throw new UserError(`invalid layer: ${m}`);
    // file system errors caused by the layer's content (ENAMETOOLONG, ENOTDIR, ENOSPC, ...)
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw new UserError(`cannot extract layer: ${m.split('\n')[0]}`);
    throw e;
  }
}

async function applyInner(tar: Readable | AsyncIterable<Buffer>, targetIn: string, opts: ApplyOptions): Promise<ApplyStats> {
  const root = posix.resolve(targetIn);
  const rootSt = await lstatOrUndef(root);
  if (!rootSt?.isDirectory()) throw new UserError(`extraction target is not a directory: ${root}`);
  const sameOwner = opts.sameOwner ?? (typeof process.getuid === 'function' && process.getuid() === 0);
  const mode = opts.whiteouts;
  const created = new Set<string>();
  const dirTimes: { rel: string[]; mtime: number }[] = [];
  const overlayWhiteouts: string[][] = [];
  const opaqueDirs: string[][] = [];
  const devices: { rel: string[]; kind: 'c' | 'b' | 'p'; major: number; minor: number; uid: number; gid: number; mode: number; mtime: number }[] = [];
  const xattrs: { rel: string[]; attrs: Map<string, Buffer> }[] = [];
  const stats: ApplyStats = { entries: 0, bytes: 0 };

  /** host path of a container path, parent resolved in root, final component not followed */
  const scoped = (p: string): string => {
    try {
      return resolveInRoot(root, p, true);
    } catch (e) {
      throw new UserError(`invalid layer: ${(e as Error).message}`);
    }
  };
  // Parent directories already resolved to a real directory inside the root, by container path.
  // Most entries share their parent with the previous one, so this saves the component-by-component
  // resolution and the mkdir -p of every entry. Emptied whenever a directory is removed (a later
  // entry may put a symlink there); a new symlink cannot shadow a cached path, since cached paths
  // are existing directories.
  const parentDirs = new Map<string, string>();
  const hostOf = (rel: string[]): string => {
    if (rel.length === 0) return root;
    const cp = `/${rel.slice(0, -1).join('/')}`;
    const parent = parentDirs.get(cp) ?? scoped(cp);
    const p = posix.join(parent, rel[rel.length - 1] as string);
    if (!isWithin(root, p) || p === root) throw new UserError(`invalid layer: ${rel.join('/')} resolves outside the root`);
    return p;
  };
  const ensureParent = async (rel: string[]): Promise<void> => {
    const cp = `/${rel.slice(0, -1).join('/')}`;
    if (parentDirs.has(cp)) return;
    const parent = scoped(cp);
    if (!isWithin(root, parent)) throw new UserError(`invalid layer: parent of ${rel.join('/')} is outside the root`);
    try {
      await mkdir(parent, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new UserError(`invalid layer: cannot create parent directory of ${rel.join('/')}: ${(e as NodeJS.ErrnoException).code}`);
    }
    if ((await lstatOrUndef(parent))?.isDirectory()) parentDirs.set(cp, parent);
  };
  const removeAt = async (p: string): Promise<void> => {
    const st = await lstatOrUndef(p);
    if (!st) return;
    if (st.isDirectory()) {
      parentDirs.clear();
      await rm(p, { recursive: true, force: true });
    }
    else await unlink(p);
  };
  const setMeta = async (p: string, e: TarEntry, isLink: boolean): Promise<void> => {
    if (sameOwner) await lchown(p, e.uid, e.gid);
    if (!isLink) await chmod(p, e.mode & 0o7777);
  };

  for await (const e of readTar(decompress(chunksOf(tar)))) {
    stats.entries++;
    const rel = cleanEntryName(e.name);
    if (rel.length === 0) continue; // the root itself: keep the target's own metadata
    const base = rel[rel.length - 1] as string;
    const key = rel.join('/');

    if (mode !== 'none' && base.startsWith(WH)) {
      const parentRel = rel.slice(0, -1);
      if (base === OPQ) {
        if (mode === 'overlay') opaqueDirs.push(parentRel);
        else {
          const dir = parentRel.length ? scoped(`/${parentRel.join('/')}`) : root;
          if (!isWithin(root, dir)) throw new UserError(`invalid layer: opaque whiteout outside the root: ${e.name}`);
          const st = await lstatOrUndef(dir);
          if (st?.isDirectory()) {
            for (const child of await readdir(dir)) {
              const cr = [...parentRel, child].join('/');
              if (!created.has(cr)) await removeAt(posix.join(dir, child));
            }
          }
        }
        continue;
      }
      if (base.startsWith(`${WH}${WH}`)) continue; // aufs metadata (.wh..wh.plnk etc.): not content
      const victim = base.slice(WH.length);
      if (victim === '' || victim === '.' || victim === '..' || victim.includes('/')) {
        throw new UserError(`invalid layer: bad whiteout entry ${JSON.stringify(e.name)}`);
      }
      const vrel = [...parentRel, victim];
      if (created.has(vrel.join('/'))) continue;
      if (mode === 'overlay') overlayWhiteouts.push(vrel);
      else await removeAt(hostOf(vrel));
      continue;
    }

    await ensureParent(rel);
    const p = hostOf(rel);
    const existing = await lstatOrUndef(p);
    created.add(key);
    switch (e.type) {
      case 'dir': {
        if (existing && !existing.isDirectory()) await removeAt(p);
        if (!existing || !existing.isDirectory()) await mkdir(p, { mode: 0o700 });
        await setMeta(p, e, false);
        dirTimes.push({ rel, mtime: e.mtime });
        break;
      }
      case 'file': {
        if (existing) await removeAt(p);
        const fh = await open(p, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
        try {
          for await (const c of e.body) {
            let off = 0;
            while (off < c.length) off += (await fh.write(c, off, c.length - off)).bytesWritten;
            stats.bytes += c.length;
          }
        } finally {
          await fh.close();
        }
        await setMeta(p, e, false);
        await lutimes(p, e.mtime, e.mtime);
        break;
      }
      case 'symlink': {
        if (existing) await removeAt(p);
        await symlink(e.linkname ?? '', p);
        await setMeta(p, e, true);
        await lutimes(p, e.mtime, e.mtime);
        break;
      }
      case 'link': {
        const lrel = cleanEntryName(e.linkname ?? '');
        if (lrel.length === 0) throw new UserError(`invalid layer: hard link ${JSON.stringify(e.name)} to the root`);
        const src = hostOf(lrel);
        const sst = await lstatOrUndef(src);
        if (!sst) throw new UserError(`invalid layer: hard link ${JSON.stringify(e.name)} to missing ${JSON.stringify(e.linkname)}`);
        if (sst.isDirectory()) throw new UserError(`invalid layer: hard link ${JSON.stringify(e.name)} to a directory`);
        if (src === p) break;
        if (existing) await removeAt(p);
        await link(src, p);
        break;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        if (existing) await removeAt(p);
        devices.push({ rel, kind: e.type === 'fifo' ? 'p' : e.type === 'char' ? 'c' : 'b', major: e.devmajor ?? 0, minor: e.devminor ?? 0, uid: e.uid, gid: e.gid, mode: e.mode, mtime: e.mtime });
        break;
      }
    }
    if (e.xattrs?.size && e.type !== 'link') xattrs.push({ rel, attrs: e.xattrs });
  }

  // nodes, whiteouts and xattrs by re-resolved paths (a later entry may have replaced a parent)
  for (const d of devices) {
    await ensureParent(d.rel);
    const p = hostOf(d.rel);
    await removeAt(p);
    try {
      await mknod(p, d.kind, d.major, d.minor);
    } catch (err) {
      if (sameOwner) throw err;
      continue; // unprivileged: devices cannot be created; skip like tar does
    }
    if (sameOwner) await lchown(p, d.uid, d.gid);
    await chmod(p, d.mode & 0o7777);
    await lutimes(p, d.mtime, d.mtime);
  }
  for (const w of overlayWhiteouts) {
    if (created.has(w.join('/'))) continue; // the same layer also wrote the path: the entry wins
    await ensureParent(w);
    const p = hostOf(w);
    await removeAt(p);
    await mknod(p, 'c', 0, 0);
  }
  // entry xattrs are best effort (e.g. user.* cannot be set on symlinks); opaque markers must work
  await restoreXattrs(xattrs.map((x) => ({ path: hostOf(x.rel), attrs: x.attrs })), { bestEffort: true });
  const xs: { path: string; attrs: Map<string, Buffer> }[] = [];
  for (const o of opaqueDirs) {
    const p = o.length ? hostOf(o) : root;
    const st = await lstatOrUndef(p);
    if (st && !st.isDirectory()) await removeAt(p);
    if (!st || !st.isDirectory()) {
      await ensureParent(o);
      await mkdir(p, { mode: 0o755 });
    }
    xs.push({ path: p, attrs: new Map([['trusted.overlay.opaque', Buffer.from('y')]]) });
  }
  await restoreXattrs(xs);
  // directory times last, deepest first
  dirTimes.sort((a, b) => b.rel.length - a.rel.length);
  for (const d of dirTimes) {
    const p = hostOf(d.rel);
    const st = await lstatOrUndef(p);
    if (st?.isDirectory()) await lutimes(p, d.mtime, d.mtime);
  }
  return stats;
}

/** diffID, uncompressed tar size and docker's content size of a (compressed) layer stream. */
export async function measureLayer(src: Readable | AsyncIterable<Buffer>): Promise<{ diffId: string; size: number; contentSize: number }> {
  const h = createHash('sha256');
  const content = new TarContentSize();
  let size = 0;
  for await (const c of decompress(chunksOf(src))) {
    h.update(c);
    content.push(c);
    size += c.length;
  }
  return { diffId: `sha256:${h.digest('hex')}`, size, contentSize: content.total };
}
