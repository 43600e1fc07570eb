/**
 * THE safe extractor: a (gzip/zstd/plain, sniffed) tar stream → files under `target`.
 *
 * Untrusted layers never write outside `target`:
 * - entry names are cleaned; absolute names are taken relative to the target (like GNU tar);
 *   a name that climbs above the root with `..` is rejected;
 * - parent directories are resolved with `resolveInRoot` (symlinks followed as the container would,
 *   clamped to the root), the final component is never followed: files are created with
 *   O_EXCL|O_NOFOLLOW, directories, symlinks and links with calls that fail on an existing name,
 *   and only then is what holds the name (file, symlink or directory) removed and the call retried;
 * - hard-link targets resolve inside the root too and must not be directories;
 * - whiteout names that are empty, `.`, `..` or contain a slash are rejected.
 *
 * Whiteouts: 'apply' deletes what `.wh.NAME` / `.wh..wh..opq` hide (flattening a stack into one dir);
 * 'overlay' turns them into what overlayfs expects (char device 0/0; `trusted.overlay.opaque=y`, `user.overlay.opaque` in a user namespace)
 * so an unpacked layer can be used as a lowerdir; 'none' extracts them as ordinary files (ADD).
 * Devices, whiteout nodes and xattrs are made after all entries, by paths re-resolved in the root
 * (mknod never follows a final symlink, setfattr runs with -h), then directory mtimes are set.
 */
import { spawn } from 'node:child_process';
import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs';
import { posix } from 'node:path';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { UserError } from '../util/errors.js';
import { isWithin, resolveInRoot } from '../util/fspath.js';
import { decompress } from './compress.js';
import { TarContentSize, TarFormatError, TarParser, type TarHeader } from './tar.js';
import { restoreXattrs } from './xattrs.js';
import { WH_OPAQUE, WH_PREFIX, whiteoutFileOf } from './whiteout.js';
import { chownMapped, inUserNamespace, overlayOpaqueXattr } from '../util/userns.js';

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

/**
 * The extraction rules, checked up front for an archive about to be stored (import, load): every
 * name stays inside the root, and a hard link names a non-directory entry that came earlier in the
 * same archive (`links: 'same-archive'`, a one-layer rootfs) or at least stays inside the root. Throws
 * a UserError naming the entry. `seen` carries the names across calls.
 */
export function checkEntry(e: { name: string; type: string; linkname?: string }, seen: Map<string, string>, links: 'same-archive' | 'inside'): void {
  const rel = cleanEntryName(e.name).join('/');
  if (e.type === 'link') {
    const target = cleanEntryName(e.linkname ?? '').join('/');
    if (target === '') throw new UserError(`invalid layer: hard link ${JSON.stringify(e.name)} to the root`);
    if (links === 'same-archive') {
      const t = seen.get(target);
      if (t === undefined) throw new UserError(`invalid layer: hard link ${JSON.stringify(e.name)} to ${JSON.stringify(e.linkname)}, which is not in the archive`);
      if (t === 'dir') throw new UserError(`invalid layer: hard link ${JSON.stringify(e.name)} to a directory`);
    }
  }
  seen.set(rel, e.type);
}

interface Node {
  path: string;
  kind: 'c' | 'b' | 'p';
  major: number;
  minor: number;
}

/** nodes made by one shell: keeps its argument list far below ARG_MAX */
const MKNOD_BATCH = 500;
// positional arguments, never part of the script; the paths are absolute, so never taken for options
const MKNOD_SCRIPT = 'i=0; while [ $# -gt 0 ]; do if [ "$2" = p ]; then mknod "$1" p; else mknod "$1" "$2" "$3" "$4"; fi || echo "$i"; i=$((i+1)); shift 4; done';

/**
 * Makes device nodes, fifos and whiteouts (Node has no mknod): one `sh` runs mknod for each node of
 * a batch, since every spawn from Node blocks this thread for milliseconds (8 devices: 50 ms).
 * mknod never follows a final symlink. Returns the error of each node that could not be made.
 */
async function mknodAll(nodes: Node[]): Promise<(string | undefined)[]> {
  const errors: (string | undefined)[] = [];
  for (let start = 0; start < nodes.length; start += MKNOD_BATCH) {
    const batch = nodes.slice(start, start + MKNOD_BATCH);
    const args = batch.flatMap((n) => [n.path, n.kind, String(n.major), String(n.minor)]);
    const { out, err } = await new Promise<{ out: string; err: string }>((resolve, reject) => {
      const p = spawn('sh', ['-c', MKNOD_SCRIPT, 'sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let o = '';
      let e = '';
      p.stdout.on('data', (d: Buffer) => (o += d.toString()));
      p.stderr.on('data', (d: Buffer) => (e += d.toString()));
      p.on('error', reject);
      p.on('close', (code) => (code === 0 ? resolve({ out: o, err: e }) : reject(new Error(`mknod: sh exited with ${code}: ${e.trim()}`))));
    });
    const failed = out.split('\n').filter(Boolean).map(Number);
    const messages = err.trim().split('\n');
    for (let i = 0; i < batch.length; i++) {
      const k = failed.indexOf(i);
      errors.push(k < 0 ? undefined : `mknod ${(batch[i] as Node).path}: ${messages[k] ?? 'failed'}`);
    }
  }
  return errors;
}

function lstatOrUndef(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, ENAMETOOLONG, ...: nothing there that we could reach
  }
}

/** runs `create` (which never follows a final symlink); when the path is taken, removes it and retries */
function replacing(p: string, create: () => void, remove: (p: string) => void): void {
  try {
    create();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    remove(p);
    create();
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
  const rootSt = lstatOrUndef(root);
  if (!rootSt?.isDirectory()) throw new UserError(`extraction target is not a directory: ${root}`);
  const sameOwner = opts.sameOwner ?? (typeof process.getuid === 'function' && process.getuid() === 0);
  const umask = process.umask();
  const mode = opts.whiteouts;
  const created = new Set<string>();
  const dirTimes: { rel: string[]; mtime: number }[] = [];
  const overlayWhiteouts = new Map<string, string[]>(); // by container path: the last entry wins
  const opaqueDirs: string[][] = [];
  const devices = new Map<string, { rel: string[]; kind: 'c' | 'b' | 'p'; major: number; minor: number; uid: number; gid: number; mode: number; mtime: number }>();
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
  // Directories already resolved to a real directory inside the root, by container path ('' is the
  // root): the parents of later entries. Most entries share their parent with the previous one, or
  // sit in a directory this layer has just made, so this saves the component-by-component resolution
  // and the mkdir -p of every entry. Emptied whenever a directory or a symlink is removed (a later
  // entry may put something else there); a new symlink cannot shadow a cached path, since cached
  // paths are existing directories and what exists is removed before anything is created in its place.
  const dirs = new Map<string, string>([['', root]]);
  /**
   * host path of the parent directory of container path `rel`: resolved inside the root, and with
   * `make` created (mkdir -p) when missing. Only real directories are remembered.
   */
  const parentOf = (rel: string[], make: boolean): string => {
    const cp = rel.length === 1 ? '' : rel.slice(0, -1).join('/');
    const known = dirs.get(cp);
    if (known !== undefined) return known;
    const parent = scoped(`/${cp}`);
    if (!isWithin(root, parent)) throw new UserError(`invalid layer: parent of ${rel.join('/')} is outside the root`);
    if (lstatOrUndef(parent)?.isDirectory()) dirs.set(cp, parent);
    else if (make) {
      try {
        fs.mkdirSync(parent, { recursive: true, mode: 0o755 });
      } catch (e) {
        throw new UserError(`invalid layer: cannot create parent directory of ${rel.join('/')}: ${(e as NodeJS.ErrnoException).code}`);
      }
      if (!lstatOrUndef(parent)?.isDirectory()) throw new UserError(`invalid layer: parent of ${rel.join('/')} is not a directory`);
      dirs.set(cp, parent);
    }
    return parent;
  };
  /**
   * host path of container path `rel`: the parent resolved (and with `make` created) inside the root,
   * the final component as it is. `rel` comes from cleanEntryName (or is a checked whiteout victim),
   * so its last component is one plain name and the result lies inside the root.
   */
  const hostOf = (rel: string[], make = false): string => (rel.length === 0 ? root : `${parentOf(rel, make)}/${rel[rel.length - 1] as string}`);
  const removeAt = (p: string): void => {
    const st = lstatOrUndef(p);
    if (!st) return;
    if (st.isDirectory() || st.isSymbolicLink()) dirs.clear();
    if (st.isDirectory()) fs.rmSync(p, { recursive: true, force: true });
    else fs.unlinkSync(p);
  };
  const setMeta = (p: string, e: TarHeader, isLink: boolean): void => {
    if (sameOwner) chownMapped(() => fs.lchownSync(p, e.uid, e.gid), e.uid, e.gid, `layer file /${e.name.replace(/^\.?\//, '').replace(/\/$/, '')}`);
    if (!isLink) fs.chmodSync(p, e.mode & 0o7777);
  };

  const whiteout = (rel: string[], base: string, e: TarHeader): void => {
    const parentRel = rel.slice(0, -1);
    if (base === WH_OPAQUE) {
      if (mode === 'overlay') opaqueDirs.push(parentRel);
      else {
        const dir = parentRel.length ? scoped(`/${parentRel.join('/')}`) : root;
        if (!isWithin(root, dir)) throw new UserError(`invalid layer: opaque whiteout outside the root: ${e.name}`);
        if (lstatOrUndef(dir)?.isDirectory()) {
          for (const child of fs.readdirSync(dir)) {
            const cr = [...parentRel, child].join('/');
            if (!created.has(cr)) removeAt(posix.join(dir, child));
          }
        }
      }
      return;
    }
    if (base.startsWith(`${WH_PREFIX}${WH_PREFIX}`)) return; // aufs metadata (.wh..wh.plnk etc.): not content
    const victim = base.slice(WH_PREFIX.length);
    if (victim === '' || victim === '.' || victim === '..' || victim.includes('/')) {
      throw new UserError(`invalid layer: bad whiteout entry ${JSON.stringify(e.name)}`);
    }
    const vrel = [...parentRel, victim];
    if (created.has(vrel.join('/'))) return;
    if (mode === 'overlay') overlayWhiteouts.set(vrel.join('/'), vrel);
    else removeAt(hostOf(vrel));
  };

  // the regular file being written: its data arrives in pieces between entry() and entryEnd()
  let file: { fd: number; e: TarHeader; exact: boolean } | undefined;
  const entry = (e: TarHeader): void => {
    stats.entries++;
    const rel = cleanEntryName(e.name);
    if (rel.length === 0) return; // the root itself: keep the target's own metadata
    const base = rel[rel.length - 1] as string;
    if (mode !== 'none' && base.startsWith(WH_PREFIX)) return whiteout(rel, base, e);
    const key = rel.join('/');
    const p = hostOf(rel, true);
    created.add(key);
    switch (e.type) {
      case 'dir': {
        try {
          fs.mkdirSync(p, { mode: 0o700 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          if (!lstatOrUndef(p)?.isDirectory()) {
            removeAt(p);
            fs.mkdirSync(p, { mode: 0o700 });
          }
        }
        setMeta(p, e, false);
        dirs.set(key, p); // a real directory (mkdir and lstat never follow a final symlink)
        dirTimes.push({ rel, mtime: e.mtime });
        break;
      }
      case 'file': {
        // created with its final mode when the umask keeps it whole and there is no set-id or sticky
        // bit (chown may clear those): then no fchmod is needed
        const perm = e.mode & 0o7777;
        const exact = perm <= 0o777 && (perm & umask) === 0;
        let fd = -1;
        replacing(p, () => (fd = fs.openSync(p, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, exact ? perm : 0o600)), removeAt);
        file = { fd, e, exact };
        break;
      }
      case 'symlink': {
        replacing(p, () => fs.symlinkSync(e.linkname ?? '', p), removeAt);
        setMeta(p, e, true);
        fs.lutimesSync(p, e.mtime, e.mtime);
        break;
      }
      case 'link': {
        const lrel = cleanEntryName(e.linkname ?? '');
        if (lrel.length === 0) throw new UserError(`invalid layer: hard link ${JSON.stringify(e.name)} to the root`);
        const src = hostOf(lrel);
        const sst = lstatOrUndef(src);
        if (!sst) throw new UserError(`invalid layer: hard link ${JSON.stringify(e.name)} to missing ${JSON.stringify(e.linkname)}`);
        if (sst.isDirectory()) throw new UserError(`invalid layer: hard link ${JSON.stringify(e.name)} to a directory`);
        if (src === p) break;
        replacing(p, () => fs.linkSync(src, p), removeAt);
        break;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        removeAt(p);
        devices.set(key, { rel, kind: e.type === 'fifo' ? 'p' : e.type === 'char' ? 'c' : 'b', major: e.devmajor ?? 0, minor: e.devminor ?? 0, uid: e.uid, gid: e.gid, mode: e.mode, mtime: e.mtime });
        break;
      }
    }
    if (e.xattrs?.size && e.type !== 'link') xattrs.push({ rel, attrs: e.xattrs });
  };
  const data = (b: Buffer): void => {
    if (!file) return;
    for (let off = 0; off < b.length; ) off += fs.writeSync(file.fd, b, off, b.length - off);
    stats.bytes += b.length;
  };
  const entryEnd = (): void => {
    if (!file) return;
    const { fd, e, exact } = file;
    file = undefined;
    try {
      // owner before mode: chown clears the set-id bits
      if (sameOwner) chownMapped(() => fs.fchownSync(fd, e.uid, e.gid), e.uid, e.gid, `layer file /${e.name.replace(/^\.?\//, '').replace(/\/$/, '')}`);
      if (!exact) fs.fchmodSync(fd, e.mode & 0o7777);
      fs.futimesSync(fd, e.mtime, e.mtime);
    } finally {
      fs.closeSync(fd);
    }
  };

  const parser = new TarParser({ entry, data, entryEnd });
  try {
    for await (const c of decompress(chunksOf(tar))) parser.push(c);
    parser.end();
  } finally {
    if (file) fs.closeSync(file.fd);
  }

  // nodes, whiteouts and xattrs by re-resolved paths (a later entry may have replaced a parent)
  const devs = [...devices.values()].map((d) => {
    const path = hostOf(d.rel, true);
    removeAt(path);
    return { ...d, path };
  });
  const devErrors = await mknodAll(devs);
  devs.forEach((d, i) => {
    const err = devErrors[i];
    if (err !== undefined) {
      // unprivileged, or root of a user namespace (rootless): devices cannot be created; skip them
      // like tar and Docker's/containers' archive code do (a container gets its own /dev anyway)
      if (sameOwner && !inUserNamespace()) throw new Error(err);
      return;
    }
    if (sameOwner) fs.lchownSync(d.path, d.uid, d.gid);
    fs.chmodSync(d.path, d.mode & 0o7777);
    fs.lutimesSync(d.path, d.mtime, d.mtime);
  });
  const wh: Node[] = [];
  for (const [key, w] of overlayWhiteouts) {
    if (created.has(key)) continue; // the same layer also wrote the path: the entry wins
    const path = hostOf(w, true);
    removeAt(path);
    wh.push({ path, kind: 'c', major: 0, minor: 0 });
  }
  const whErrs = await mknodAll(wh);
  whErrs.forEach((err, i) => {
    if (err === undefined) return;
    // mknod of 0/0 refused (a rootless store on an overlayfs): the `.wh.NAME` file form every
    // snapshot reader also takes (worker/snapshot/upper.ts)
    if (!/Operation not permitted/.test(err)) throw new Error(err);
    const p = (wh[i] as Node).path;
    const f = whiteoutFileOf(p);
    removeAt(f);
    fs.closeSync(fs.openSync(f, 'w', 0o600));
  });
  // entry xattrs are best effort (e.g. user.* cannot be set on symlinks); opaque markers must work
  await restoreXattrs(xattrs.map((x) => ({ path: hostOf(x.rel), attrs: x.attrs })), { bestEffort: true });
  const xs: { path: string; attrs: Map<string, Buffer> }[] = [];
  for (const o of opaqueDirs) {
    const p = hostOf(o);
    const st = lstatOrUndef(p);
    if (st && !st.isDirectory()) removeAt(p);
    if (!st || !st.isDirectory()) {
      parentOf(o, true);
      fs.mkdirSync(p, { mode: 0o755 });
    }
    xs.push({ path: p, attrs: new Map([[overlayOpaqueXattr(), Buffer.from('y')]]) });
  }
  await restoreXattrs(xs);
  // directory times last, deepest first
  dirTimes.sort((a, b) => b.rel.length - a.rel.length);
  for (const d of dirTimes) {
    const p = hostOf(d.rel);
    if (lstatOrUndef(p)?.isDirectory()) fs.lutimesSync(p, d.mtime, d.mtime);
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
