/**
 * The overlay upper-dir format every snapshotter hands to the layer writer and reads back as a
 * lower: a deleted path is a char 0/0 device (a whiteout), a directory that hides what the lowers
 * had is marked with the opaque xattr (`trusted.overlay.opaque=y`; `user.overlay.opaque=y` in a user
 * namespace, see util/userns.ts). Helpers to read and write that format with the `attr` tools and
 * mknod (Node has no xattr or mknod API).
 */
import { execFileSync } from 'node:child_process';
import type { Stats } from 'node:fs';
import { findHostBinary } from '../exec/hostbin.js';
import { overlayOpaqueXattr } from '../../util/userns.js';

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
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

export function makeWhiteout(path: string): void {
  const mknod = findHostBinary('mknod');
  if (!mknod) throw new Error('mknod not found (coreutils) for a whiteout');
  execFileSync(mknod, [path, 'c', '0', '0']);
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
