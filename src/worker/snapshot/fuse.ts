/**
 * fuse-overlayfs snapshotter (rootless where the kernel refuses overlayfs in a user namespace, or
 * STAGECRAFT_SNAPSHOTTER=fuse-overlayfs): the same lowers + upper → merged root as overlay.ts, done
 * by the `fuse-overlayfs` daemon (Debian package fuse-overlayfs; FUSE mounts are allowed in a user
 * namespace since Linux 4.18). It reads our lowers as they are (char 0/0 whiteouts, the opaque
 * xattr of either namespace). Its upper dir is written in its own dialect, which `unmount()`
 * turns into the overlay format of upper.ts so the layer writer, the native snapshotter and the
 * kernel overlay see one format whatever made the snapshot:
 *   - an opaque dir gets a `.wh..wh..opq` file (mode 0700), a `.wh..opq` char 0/0 device and the
 *     xattr `user.fuseoverlayfs.opaque` (or `trusted.overlay.opaque` when privileged): the file, the
 *     device and the xattr go; the dir gets this namespace's opaque xattr where overlayfs would
 *     have set it (fuse-overlayfs marks every dir it creates opaque, see normalizeFuseUpper);
 *   - a deleted path is a char 0/0 device, or a `.wh.NAME` file where mknod is refused: that file
 *     becomes a char 0/0 NAME where we may mknod, else it stays (the file form of upper.ts).
 * Other `user.fuseoverlayfs.*` bookkeeping xattrs stay on disk and never reach a layer (util/userns.ts
 * `isOverlayXattr`). Directory times are kept across the rewrite. Cost: one walk of the upper dir
 * (the diff), not of the rootfs; file I/O through FUSE is slower than the kernel's overlayfs.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync, utimesSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { requireHostBinary } from '../exec/hostbin.js';
import { liveMount, scratchDir } from './overlay.js';
import type { Mounted, MountOptions } from './types.js';
import { FUSE_OPQ_FILE, hasXattrY, isWhiteout, makeWhiteout, removeXattrs, setOpaque, whiteoutTarget } from './upper.js';
import { overlayOpaqueXattr } from '../../util/userns.js';

const run = promisify(execFile);

const OPQ_FILE = FUSE_OPQ_FILE;
const OPQ_DEVICE = '.wh..opq';
const FUSE_OPAQUE = 'user.fuseoverlayfs.opaque';

export async function mountFuseOverlayfs(lowers: string[], upper?: string, opts?: MountOptions): Promise<Mounted> {
  const bin = requireHostBinary('fuse-overlayfs', 'fuse-overlayfs');
  const scratch = scratchDir(upper, opts, '.sc-fuse-');
  const up = upper ? resolve(upper) : mkdtempSync(join(dirname(scratch), '.sc-upper-'));
  mkdirSync(up, { recursive: true });
  for (const d of ['l', 'w', 'm']) mkdirSync(join(scratch, d));
  const layers = lowers.length ? lowers.map((l) => resolve(l)) : [join(scratch, 'empty')];
  if (!lowers.length) mkdirSync(layers[0]!);
  // symlinks keep ':' and ',' of store paths out of the option string
  layers.forEach((l, i) => {
    if (!existsSync(l)) throw new Error(`overlay lower does not exist: ${l}`);
    symlinkSync(l, join(scratch, 'l', String(i)));
  });
  symlinkSync(up, join(scratch, 'u'));
  const lowerdir = layers.map((_, i) => join(scratch, 'l', String(i))).reverse().join(':');
  const root = join(scratch, 'm');
  try {
    await run(bin, ['-o', `lowerdir=${lowerdir},upperdir=${join(scratch, 'u')},workdir=${join(scratch, 'w')}`, root]);
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    const msg = ((e as { stderr?: string }).stderr ?? '').split('\n').filter((l) => l && !/unknown argument ignored/.test(l))[0] ?? (e as Error).message;
    throw new Error(`fuse-overlayfs mount failed: ${msg}`);
  }
  return liveMount('fuse-overlayfs', scratch, up, () => normalizeFuseUpper(up, layers));
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/**
 * True when `rel` is visible through `lowers` (top first): the first lower that has it (not as a
 * whiteout) shows it, unless an ancestor met before is a whiteout, a non-dir or an opaque dir.
 */
function inLowers(lowers: string[], rel: string): boolean {
  const parts = rel.split('/');
  for (const l of lowers) {
    let cut = false;
    for (let i = 1; i <= parts.length; i++) {
      const p = join(l, ...parts.slice(0, i));
      let st;
      try {
        st = lstatSync(p);
      } catch {
        break; // not in this lower: the ones below may have it
      }
      if (isWhiteout(st)) return false;
      if (lstatOrUndefined(join(l, ...parts.slice(0, i - 1), `.wh.${parts[i - 1]}`))?.isFile()) return false;
      if (i === parts.length) return true;
      if (!st.isDirectory()) return false;
      if (hasXattrY(p, overlayOpaqueXattr())) cut = true;
    }
    if (cut) return false;
  }
  return false;
}

/**
 * Rewrites a fuse-overlayfs upper dir into the overlay format of upper.ts (see the module comment).
 * fuse-overlayfs marks EVERY directory it creates opaque; overlayfs only one that hides something
 * of the lowers (`lowers`, bottom→top): the marker stays only where the path is visible below.
 */
export function normalizeFuseUpper(upper: string, lowers: string[]): void {
  const top = [...lowers].reverse();
  const walk = (dir: string, rel: string, hidden: boolean): void => {
    const names = readdirSync(dir);
    const st = lstatSync(dir);
    let touched = false;
    let opaque = false;
    if (names.includes(OPQ_FILE)) {
      for (const n of [OPQ_FILE, OPQ_DEVICE]) {
        if (names.includes(n)) rmSync(join(dir, n), { force: true });
      }
      removeXattrs(dir, [FUSE_OPAQUE, overlayOpaqueXattr()]);
      opaque = !hidden && rel !== '' && inLowers(top, rel);
      if (opaque) setOpaque(dir);
      touched = true;
    }
    for (const name of names) {
      if (name === OPQ_FILE || name === OPQ_DEVICE) continue;
      const p = join(dir, name);
      const s = lstatSync(p);
      if (s.isDirectory()) walk(p, rel ? `${rel}/${name}` : name, hidden || opaque);
      else if (s.isFile() && whiteoutTarget(name, s) !== undefined) {
        // a whiteout written as an aufs-style file (mknod refused in the daemon): a char 0/0 where
        // we may mknod, else the file stays (upper.ts)
        if (makeWhiteout(join(dir, name.slice(4))) === 'device') unlinkSync(p);
        touched = true;
      }
    }
    if (touched) utimesSync(dir, st.atime, st.mtime);
  };
  walk(upper, '', false);
}
