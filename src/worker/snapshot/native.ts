/**
 * Copying snapshotter for systems without overlayfs (STAGECRAFT_SNAPSHOTTER=native): the lowers
 * (bottom→top, overlay-style: char 0/0 whiteouts, `trusted.overlay.opaque` dirs, `user.overlay.opaque` in a user namespace) are copied into a
 * plain directory (reflinks where the filesystem has them), their metadata is recorded, and
 * `unmount()` walks the root again and writes an overlay-equivalent upper: changed/new entries
 * copied, deleted ones as char 0/0 whiteouts, a directory deleted and made again (a new inode) opaque
 * with all it holds, as overlayfs writes them. Trade-off, stated plainly: its cost grows with the size of
 * the rootfs (one copy + two walks), unlike overlayfs; xattrs other than the opaque marker are not
 * copied.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync, constants, copyFileSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync,
  readdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, type BigIntStats, type Stats,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { findHostBinary } from '../exec/hostbin.js';
import { scratchDir } from './overlay.js';
import { dropWhiteoutFile, isWhiteout, makeWhiteout, opaqueDirs, setOpaque, whiteoutTarget } from './upper.js';
import type { Mounted, MountOptions } from './types.js';

interface Sig {
  type: string;
  ino: bigint;
  /** birth time: tells a dir made again apart from the old one where the inode number is reused */
  btime: bigint;
  ctime: bigint;
  mtime: bigint;
  size: bigint;
  mode: bigint;
  uid: bigint;
  gid: bigint;
}

function typeOf(st: Stats | BigIntStats): string {
  if (st.isDirectory()) return 'd';
  if (st.isSymbolicLink()) return 'l';
  if (st.isFile()) return 'f';
  if (st.isCharacterDevice()) return 'c';
  if (st.isBlockDevice()) return 'b';
  if (st.isFIFO()) return 'p';
  return 's';
}

function copyMeta(dest: string, st: Stats): void {
  if (st.isSymbolicLink()) {
    lchownSync(dest, st.uid, st.gid);
    lutimesSync(dest, st.atime, st.mtime);
    return;
  }
  lchownSync(dest, st.uid, st.gid);
  chmodSync(dest, st.mode & 0o7777);
  utimesSync(dest, st.atime, st.mtime);
}

function mknodLike(dest: string, st: Stats): void {
  const mknod = findHostBinary('mknod');
  if (!mknod) return;
  const t = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : '';
  if (!t) return; // sockets are not copied
  const args = t === 'p' ? [dest, 'p'] : [dest, t, String(Math.floor(st.rdev / 256) & 0xfff), String((st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00))];
  execFileSync(mknod, args);
}

/** Copies one entry (not recursing into dirs) from src to dest, replacing what is there. */
function copyEntry(src: string, dest: string, st: Stats, links: Map<number, string>): void {
  if (st.isDirectory()) {
    let existing: Stats | undefined;
    try {
      existing = lstatSync(dest);
    } catch {
      /* none */
    }
    if (existing && !existing.isDirectory()) rmSync(dest, { force: true });
    if (!existing || !existing.isDirectory()) mkdirSync(dest);
    return;
  }
  rmSync(dest, { recursive: true, force: true });
  if (st.isFile() && st.nlink > 1) {
    const first = links.get(st.ino);
    if (first) {
      linkSync(first, dest);
      return;
    }
    links.set(st.ino, dest);
  }
  if (st.isFile()) copyFileSync(src, dest, constants.COPYFILE_FICLONE);
  else if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), dest);
  else mknodLike(dest, st);
  copyMeta(dest, st);
}

/** Applies one overlay-style layer dir onto `root`. */
function applyLower(lower: string, root: string): void {
  const opaque = opaqueDirs(lower);
  const links = new Map<number, string>();
  const dirMeta: [string, Stats][] = [];
  const walk = (rel: string) => {
    const srcDir = join(lower, rel);
    for (const name of readdirSync(srcDir)) {
      const src = join(srcDir, name);
      const dest = join(root, rel, name);
      const st = lstatSync(src);
      const gone = whiteoutTarget(name, st);
      if (gone !== undefined) {
        rmSync(join(root, rel, gone), { recursive: true, force: true });
        continue;
      }
      copyEntry(src, dest, st, links);
      if (st.isDirectory()) {
        if (opaque.has(src)) {
          for (const child of readdirSync(dest)) rmSync(join(dest, child), { recursive: true, force: true });
        }
        walk(join(rel, name));
        dirMeta.push([dest, st]);
      }
    }
  };
  walk('');
  const rootSt = lstatSync(lower);
  dirMeta.push([root, rootSt]);
  for (const [d, st] of dirMeta) copyMeta(d, st);
}

function snapshot(root: string): Map<string, Sig> {
  const m = new Map<string, Sig>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r), { bigint: true });
      m.set(r, { type: typeOf(st), ino: st.ino, btime: st.birthtimeNs, ctime: st.ctimeNs, mtime: st.mtimeNs, size: st.size, mode: st.mode, uid: st.uid, gid: st.gid });
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return m;
}

const same = (a: Sig, b: Sig) => a.type === b.type && a.ino === b.ino && a.ctime === b.ctime && a.mtime === b.mtime && a.size === b.size && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;

function ensureParents(root: string, upper: string, rel: string): void {
  const parts = rel.split('/').slice(0, -1);
  let cur = '';
  for (const p of parts) {
    cur = cur ? `${cur}/${p}` : p;
    const dest = join(upper, cur);
    try {
      lstatSync(dest);
      continue;
    } catch {
      /* create */
    }
    mkdirSync(dest);
    copyMeta(dest, lstatSync(join(root, cur)));
  }
}

/** Writes the diff between `before` and the current `root` into `upper` (overlay format). */
export function writeUpper(root: string, before: Map<string, Sig>, upper: string): void {
  const after = snapshot(root);
  // a dir deleted and made again (a new inode: `rm -rf d && mkdir d`) is opaque, as overlayfs makes
  // it: it hides all the lowers had there, and everything in it now is in the diff
  const replaced = new Set<string>();
  const inReplaced = (rel: string): boolean => {
    for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) if (replaced.has(rel.slice(0, i))) return true;
    return false;
  };
  const changed: string[] = [];
  for (const [rel, sig] of after) {
    const old = before.get(rel);
    if (old?.type === 'd' && sig.type === 'd' && (old.ino !== sig.ino || old.btime !== sig.btime)) replaced.add(rel);
    if (!old || !same(old, sig) || inReplaced(rel)) changed.push(rel);
  }
  const links = new Map<number, string>();
  const dirs: [string, string][] = [];
  for (const rel of changed) {
    ensureParents(root, upper, rel);
    const src = join(root, rel);
    const dest = join(upper, rel);
    const st = lstatSync(src);
    let wasWhiteout = dropWhiteoutFile(dest);
    try {
      const d = lstatSync(dest);
      if (replaced.has(rel)) rmSync(dest, { recursive: true, force: true });
      else if (st.isDirectory() && d.isDirectory()) {
        dirs.push([dest, src]);
        continue;
      }
      wasWhiteout ||= isWhiteout(d);
    } catch {
      /* new */
    }
    copyEntry(src, dest, st, links);
    if (st.isDirectory()) {
      dirs.push([dest, src]);
      // a dir re-created where the upper had a whiteout must hide the lower's old children
      if (wasWhiteout || replaced.has(rel)) setOpaque(dest);
    }
  }
  // deletions: a whiteout at the topmost deleted path (children of a deleted dir, or of a dir
  // replaced by a non-dir, are covered by their parent; those of an opaque dir by the dir)
  for (const rel of before.keys()) {
    if (after.has(rel) || inReplaced(rel)) continue;
    const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    if (parent) {
      const pNow = after.get(parent);
      if (!pNow || pNow.type !== 'd') continue;
    }
    ensureParents(root, upper, rel);
    rmSync(join(upper, rel), { recursive: true, force: true });
    makeWhiteout(join(upper, rel));
  }
  for (const [dest, src] of dirs.reverse()) copyMeta(dest, lstatSync(src));
  // the root dir's own metadata
  copyMeta(upper, lstatSync(root));
}

export async function mountNative(lowers: string[], upper?: string, opts?: MountOptions): Promise<Mounted> {
  const scratch = scratchDir(upper, opts, '.sc-native-');
  const up = upper ? resolve(upper) : mkdtempSync(join(dirname(scratch), '.sc-upper-'));
  mkdirSync(up, { recursive: true });
  const root = join(scratch, 'm');
  mkdirSync(root);
  chmodSync(root, 0o755);
  try {
    for (const l of lowers) applyLower(resolve(l), root);
    // an upper that already holds changes (e.g. a container started again) applies on top
    applyLower(up, root);
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
  const before = snapshot(root);
  // the upper receives the cumulative diff again at unmount
  let mounted = true;
  return {
    kind: 'native',
    root,
    upper: up,
    work: scratch,
    async unmount() {
      if (!mounted) return;
      mounted = false;
      try {
        writeUpper(root, before, up);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
}
