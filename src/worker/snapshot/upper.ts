/**
 * The overlay upper-dir format every snapshotter hands to the layer writer and reads back as a
 * lower: a deleted path is a char 0/0 device (a whiteout), or, where mknod of 0/0 is refused (a
 * rootless store on an overlayfs, e.g. CI inside a container: the kernel then refuses our nested
 * overlay too and fuse-overlayfs is used), an empty regular file `.wh.NAME` beside it, the form
 * fuse-overlayfs itself writes there and reads in its lowers (checked with fuse-overlayfs 1.10, which
 * ignores overlayfs' xattr whiteouts, `user.overlay.whiteout`: a lower's one shows as an empty file).
 * Every reader takes both (`whiteoutTarget`); the layer writer turns both into the same `.wh.NAME`
 * tar entry at the same place, so the layers do not depend on the form. A directory that hides what the lowers
 * had is marked with the opaque xattr (`trusted.overlay.opaque=y`; `user.overlay.opaque=y` in a user
 * namespace, see util/userns.ts). Helpers to read and write that format with the `attr` tools and
 * mknod (Node has no xattr or mknod API).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, type Stats } from 'node:fs';
import { WH_OPAQUE, whiteoutFileOf, whiteoutFileTarget } from '../../image/index.js';
import { findHostBinary } from '../exec/hostbin.js';
import { overlayOpaqueXattr } from '../../util/userns.js';

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** fuse-overlayfs's opaque marker file (not a whiteout; fuse.ts turns it into the xattr) */
export const FUSE_OPQ_FILE = WH_OPAQUE;

/**
 * The name entry `name` (lstat `st`) of an upper/lower dir whites out: itself for a char 0/0
 * device, NAME for a `.wh.NAME` regular file; undefined when it is no whiteout.
 */
export function whiteoutTarget(name: string, st: Stats): string | undefined {
  if (isWhiteout(st)) return name;
  return st.isFile() ? whiteoutFileTarget(name) : undefined;
}

/** Set once mknod of a 0/0 device has been refused in this process: whiteouts are `.wh.` files. */
let mknodRefused = false;

/** Whiteout of `path`: a char 0/0 device, or a `.wh.NAME` file where mknod is refused (module comment). */
export function makeWhiteout(path: string): 'device' | 'file' {
  if (!mknodRefused) {
    const mknod = findHostBinary('mknod');
    if (!mknod) throw new Error('mknod not found (coreutils) for a whiteout');
    try {
      execFileSync(mknod, [path, 'c', '0', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      return 'device';
    } catch (e) {
      if (!/Operation not permitted/.test(String((e as { stderr?: Buffer }).stderr ?? ''))) throw e;
      mknodRefused = true;
    }
  }
  closeSync(openSync(whiteoutFileOf(path), 'w', 0o600));
  return 'file';
}

/** Removes a `.wh.NAME` file whiteout of `path` (a path made again); true when there was one. */
export function dropWhiteoutFile(path: string): boolean {
  try {
    rmSync(whiteoutFileOf(path));
    return true;
  } catch {
    return false;
  }
}

/** Absolute paths under `dir` carrying xattr `name` = "y" (one getfattr -R; needs attr). */
export function dirsWithXattr(dir: string, name: string): Set<string> {
  const getfattr = findHostBinary('getfattr');
  const out = new Set<string>();
  if (!getfattr) return out;
  let text = '';
  try {
    text = execFileSync(getfattr, ['-R', '-h', '-d', '-m', `^${name.replace(/\./g, '\\.')}$`, '--absolute-names', dir], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024,
    });
  } catch (e) {
    text = String((e as { stdout?: string }).stdout ?? '');
  }
  let file = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) file = line.slice(8);
    else if (line.startsWith(`${name}="y"`)) out.add(file);
  }
  return out;
}

/** Dirs (absolute paths) under `dir` marked opaque in this namespace's xattr. */
export function opaqueDirs(dir: string): Set<string> {
  return dirsWithXattr(dir, overlayOpaqueXattr());
}

export function setOpaque(dir: string): void {
  const setfattr = findHostBinary('setfattr');
  if (!setfattr) throw new Error('setfattr not found (install attr) to mark an opaque directory');
  execFileSync(setfattr, ['-n', overlayOpaqueXattr(), '-v', 'y', dir]);
}


/** True when `path` carries xattr `name` = "y" (one getfattr). */
export function hasXattrY(path: string, name: string): boolean {
  const getfattr = findHostBinary('getfattr');
  if (!getfattr) return false;
  try {
    return execFileSync(getfattr, ['-h', '--only-values', '-n', name, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) === 'y';
  } catch {
    return false;
  }
}

/** Removes xattrs `names` from `path` where present. */
export function removeXattrs(path: string, names: string[]): void {
  const setfattr = findHostBinary('setfattr');
  if (!setfattr) return;
  for (const n of names) {
    try {
      execFileSync(setfattr, ['-h', '-x', n, path], { stdio: 'ignore' });
    } catch {
      /* not set */
    }
  }
}
