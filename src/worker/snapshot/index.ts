/**
 * Snapshotter public API. In: layer dirs (bottom→top, overlay-ready) and an upper dir. Out: a
 * mounted writable root whose changes end up in the upper dir (overlay format: char 0/0 whiteouts,
 * opaque xattr), ready for the layer writer. overlayfs by default; STAGECRAFT_SNAPSHOTTER=native
 * (or a host without overlayfs) selects the copying fallback. Rootless (in the user namespace
 * worker/exec/rootless.ts makes): overlayfs with `userxattr` where the kernel allows it (5.11+),
 * else the native snapshotter, said once on stderr.
 */
import { readFileSync } from 'node:fs';
import { mountNative } from './native.js';
import { mountOverlayfs } from './overlay.js';
import type { Mounted, MountOptions } from './types.js';
import { UserError } from '../../util/errors.js';
import { inUserNamespace } from '../../util/userns.js';

export type { Mounted, MountOptions } from './types.js';

let overlayAvailable: boolean | undefined;
function hasOverlayfs(): boolean {
  if (overlayAvailable === undefined) {
    try {
      overlayAvailable = /\boverlay\b/.test(readFileSync('/proc/filesystems', 'utf8'));
    } catch {
      overlayAvailable = false;
    }
  }
  return overlayAvailable;
}

/** Set once an overlay mount was refused in a user namespace (an old kernel): native from then on. */
let overlayRefused = false;

/** Which snapshotter `mountOverlay` uses: $STAGECRAFT_SNAPSHOTTER, else overlayfs when the kernel has it (and lets us mount it). */
export function snapshotterKind(): 'overlayfs' | 'native' {
  const env = process.env.STAGECRAFT_SNAPSHOTTER;
  if (env === 'native' || env === 'overlayfs') return env;
  return hasOverlayfs() && !overlayRefused ? 'overlayfs' : 'native';
}

/** Mounts `lowers` (bottom→top) with `upper` (created when missing; a fresh temp dir when omitted). */
export function mountOverlay(lowers: string[], upper?: string, opts?: MountOptions): Promise<Mounted> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    // the CLI re-runs itself as root of a user namespace (worker/exec/rootless.ts); this is a caller that did not
    return Promise.reject(new UserError('RUN/COPY steps and containers need root or the rootless user namespace the stagecraft CLI enters by itself', { exitCode: 125 }));
  }
  if (snapshotterKind() === 'native') return mountNative(lowers, upper, opts);
  if (!inUserNamespace() || process.env.STAGECRAFT_SNAPSHOTTER) return mountOverlayfs(lowers, upper, opts);
  return mountOverlayfs(lowers, upper, opts).catch((e: Error) => {
    overlayRefused = true;
    process.stderr.write(`stagecraft: overlayfs is not allowed in this user namespace (${e.message}): using the native snapshotter\n`);
    return mountNative(lowers, upper, opts);
  });
}
