/**
 * Snapshotter public API. In: layer dirs (bottom→top, overlay-ready) and an upper dir. Out: a
 * mounted writable root whose changes end up in the upper dir (overlay format: char 0/0 whiteouts,
 * opaque xattr), ready for the layer writer. overlayfs by default; STAGECRAFT_SNAPSHOTTER=native
 * (or a host without overlayfs) selects the copying fallback.
 */
import { readFileSync } from 'node:fs';
import { mountNative } from './native.js';
import { mountOverlayfs } from './overlay.js';
import type { Mounted, MountOptions } from './types.js';
import { UserError } from '../../util/errors.js';

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

/** Which snapshotter `mountOverlay` uses: $STAGECRAFT_SNAPSHOTTER, else overlayfs when the kernel has it. */
export function snapshotterKind(): 'overlayfs' | 'native' {
  const env = process.env.STAGECRAFT_SNAPSHOTTER;
  if (env === 'native' || env === 'overlayfs') return env;
  return hasOverlayfs() ? 'overlayfs' : 'native';
}

/** Mounts `lowers` (bottom→top) with `upper` (created when missing; a fresh temp dir when omitted). */
export function mountOverlay(lowers: string[], upper?: string, opts?: MountOptions): Promise<Mounted> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    // rootless mode (user namespaces + fuse-overlayfs) is not implemented: say so in one line
    return Promise.reject(new UserError('RUN/COPY steps and containers need root (overlay mounts, namespaces): run stagecraft as root', { exitCode: 125 }));
  }
  return snapshotterKind() === 'native' ? mountNative(lowers, upper, opts) : mountOverlayfs(lowers, upper, opts);
}
