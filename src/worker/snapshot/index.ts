/**
 * Snapshotter public API. In: layer dirs (bottom→top, overlay-ready) and an upper dir. Out: a
 * mounted writable root whose changes end up in the upper dir (overlay format: char 0/0 whiteouts,
 * opaque xattr, see upper.ts), ready for the layer writer.
 *
 * Which one (`snapshotterKind`): $STAGECRAFT_SNAPSHOTTER=overlayfs|fuse-overlayfs|native forces it
 * (an unknown value is an error). Otherwise as root: the kernel's overlayfs when /proc/filesystems
 * has it, else native. Rootless (in the user namespace worker/exec/rootless.ts makes), probed on the
 * first mount, as rootless Podman does: overlayfs with `userxattr` where the kernel allows it (5.11+),
 * else fuse-overlayfs (its binary and /dev/fuse), else native; a fallback is said once on stderr.
 */
import { accessSync, constants, readFileSync, rmSync } from 'node:fs';
import { mountFuseOverlayfs } from './fuse.js';
import { mountNative } from './native.js';
import { mountOverlayfs } from './overlay.js';
import type { Mounted, MountOptions, SnapshotterKind } from './types.js';
import { findHostBinary } from '../exec/hostbin.js';
import { UserError } from '../../util/errors.js';
import { inUserNamespace } from '../../util/userns.js';

export type { Mounted, MountOptions, SnapshotterKind } from './types.js';

export const SNAPSHOTTERS: readonly SnapshotterKind[] = ['overlayfs', 'fuse-overlayfs', 'native'];

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

function hasFuseOverlayfs(): boolean {
  if (!findHostBinary('fuse-overlayfs')) return false;
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The forced choice ($STAGECRAFT_SNAPSHOTTER), undefined when unset or `auto`. */
function forced(): SnapshotterKind | undefined {
  const env = process.env.STAGECRAFT_SNAPSHOTTER;
  if (!env || env === 'auto') return undefined;
  if ((SNAPSHOTTERS as readonly string[]).includes(env)) return env as SnapshotterKind;
  throw new UserError(`invalid STAGECRAFT_SNAPSHOTTER ${JSON.stringify(env)} (overlayfs, fuse-overlayfs, native or auto)`, { exitCode: 125 });
}

/** Snapshotters the rootless probe found unusable here (a mount was refused), in probe order. */
const refused = new Set<SnapshotterKind>();

/** The candidates, best first: the forced one alone, else what this host may offer. */
function candidates(): SnapshotterKind[] {
  const f = forced();
  if (f) return [f];
  if (!inUserNamespace()) return [hasOverlayfs() ? 'overlayfs' : 'native'];
  const out: SnapshotterKind[] = [];
  if (hasOverlayfs()) out.push('overlayfs');
  if (hasFuseOverlayfs()) out.push('fuse-overlayfs');
  out.push('native');
  return out.filter((k) => k === 'native' || !refused.has(k));
}

/** Which snapshotter `mountOverlay` uses (rootless: before the first mount, the best candidate). */
export function snapshotterKind(): SnapshotterKind {
  return candidates()[0]!;
}

const mounters: Record<SnapshotterKind, (lowers: string[], upper?: string, opts?: MountOptions) => Promise<Mounted>> = {
  overlayfs: mountOverlayfs,
  'fuse-overlayfs': mountFuseOverlayfs,
  native: mountNative,
};

/** Mounts `lowers` (bottom→top) with `upper` (created when missing; a fresh temp dir when omitted). */
export async function mountOverlay(lowers: string[], upper?: string, opts?: MountOptions): Promise<Mounted> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    // the CLI re-runs itself as root of a user namespace (worker/exec/rootless.ts); this is a caller that did not
    throw new UserError('RUN/COPY steps and containers need root or the rootless user namespace the stagecraft CLI enters by itself', { exitCode: 125 });
  }
  const kinds = candidates();
  for (let i = 0; ; i++) {
    const kind = kinds[i]!;
    const next = kinds[i + 1];
    if (!next) return mounters[kind](lowers, upper, opts);
    try {
      return await mounters[kind](lowers, upper, opts);
    } catch (e) {
      // rootless probe: this kernel (or /dev/fuse) refuses it; the next one from now on
      refused.add(kind);
      process.stderr.write(`stagecraft: ${kind} is not usable in this user namespace (${(e as Error).message}): using ${next}\n`);
    }
  }
}

/**
 * The snapshotter this process ends up with, found by mounting an empty overlay in `scratchDir`
 * (the store's tmp dir) and unmounting it: what `system info` shows.
 */
export async function probeSnapshotter(scratchDir: string): Promise<SnapshotterKind> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return snapshotterKind();
  const m = await mountOverlay([], undefined, { scratchDir });
  await m.unmount();
  rmSync(m.upper, { recursive: true, force: true });
  return m.kind;
}
