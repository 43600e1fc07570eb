/**
 * overlayfs snapshotter: `lowers` (bottom→top, read-only dirs with char 0/0 whiteouts and opaque
 * xattrs) + an upper dir → a merged, writable root. The upper dir IS the diff afterwards, so a RUN's
 * snapshot costs what it changed, not the size of the rootfs. The lowerdir option is kept short
 * (and free of ':' / ',' trouble) by mounting from a scratch dir holding symlinks `l/0`, `l/1`, ...
 * with `mount` run in that dir: the kernel resolves the relative paths against our cwd.
 * Mount options: index=off, metacopy=off, redirect_dir=off so every change in the upper is a full
 * copy-up (a metacopy or redirect upper would not be a self-contained diff); `volatile` (Linux 5.10+,
 * dropped when the kernel refuses it) so neither the unmount nor an fsync inside a RUN waits for the
 * disk: an upper dir is thrown away or adopted as a store snapshot, which the store syncs ONCE
 * (syncfs) before the adoption (store.commitSnapshot); syncing it on every unmount would be wasted
 * time (25 ms per unmount here, far more under apt).
 * In a user namespace (rootless, kernel 5.11+) the mount adds `userxattr`: opaque dirs are then
 * marked with user.overlay.opaque (see util/userns.ts).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { findHostBinary, requireHostBinary } from '../exec/hostbin.js';
import type { Mounted, MountOptions } from './types.js';
import { inUserNamespace } from '../../util/userns.js';

const run = promisify(execFile);

export function scratchDir(upper: string | undefined, opts: MountOptions | undefined, prefix: string): string {
  const base = opts?.scratchDir ?? (upper ? dirname(resolve(upper)) : process.env.STAGECRAFT_SNAPSHOT_TMP ?? tmpdir());
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, prefix));
}

let volatileOk = process.env.STAGECRAFT_OVERLAY_VOLATILE !== '0';

export async function mountOverlayfs(lowers: string[], upper?: string, opts?: MountOptions): Promise<Mounted> {
  const mount = requireHostBinary('mount', 'util-linux');
  const scratch = scratchDir(upper, opts, '.sc-ovl-');
  const up = upper ? resolve(upper) : mkdtempSync(join(dirname(scratch), '.sc-upper-'));
  mkdirSync(up, { recursive: true });
  mkdirSync(join(scratch, 'l'));
  mkdirSync(join(scratch, 'w'));
  mkdirSync(join(scratch, 'm'));
  symlinkSync(up, join(scratch, 'u'));
  const layers = lowers.length ? lowers.map((l) => resolve(l)) : [join(scratch, 'empty')];
  if (!lowers.length) mkdirSync(layers[0]!);
  layers.forEach((l, i) => {
    if (!existsSync(l)) throw new Error(`overlay lower does not exist: ${l}`);
    symlinkSync(l, join(scratch, 'l', String(i)));
  });
  // overlayfs wants the TOP lower first
  const lowerdir = layers.map((_, i) => `l/${i}`).reverse().join(':');
  // in a user namespace (rootless) overlayfs keeps its bookkeeping in user.overlay.* (userxattr),
  // which refuses redirect_dir=off ("follow"): nofollow creates no redirect either
  const ns = inUserNamespace() ? 'redirect_dir=nofollow,userxattr' : 'redirect_dir=off';
  const options = `lowerdir=${lowerdir},upperdir=u,workdir=w,index=off,metacopy=off,${ns}`;
  try {
    if (volatileOk) {
      try {
        await run(mount, ['-t', 'overlay', 'overlay', '-o', `${options},volatile`, 'm'], { cwd: scratch });
      } catch {
        volatileOk = false; // an older kernel: mount without it from now on
        rmSync(join(scratch, 'w'), { recursive: true, force: true });
        mkdirSync(join(scratch, 'w'));
        await run(mount, ['-t', 'overlay', 'overlay', '-o', options, 'm'], { cwd: scratch });
      }
    } else await run(mount, ['-t', 'overlay', 'overlay', '-o', options, 'm'], { cwd: scratch });
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    const msg = ((e as { stderr?: string }).stderr?.trim() || (e as Error).message).split('\n')[0];
    throw new Error(`overlay mount failed: ${msg}`);
  }
  return liveMount('overlayfs', scratch, up);
}

/**
 * The `Mounted` of a kernel or FUSE overlay mounted at SCRATCH/m: unmount retries, detaches when
 * busy, removes the scratch dir, then runs `after` (fuse-overlayfs rewrites its upper there).
 */
export function liveMount(kind: 'overlayfs' | 'fuse-overlayfs', scratch: string, up: string, after?: () => void): Mounted {
  const root = join(scratch, 'm');
  let mounted = true;
  live.add(root);
  hookExit();
  return {
    kind,
    root,
    upper: up,
    work: join(scratch, 'w'),
    async unmount() {
      if (!mounted) return;
      await umountRetry(root);
      mounted = false;
      live.delete(root);
      rmSync(scratch, { recursive: true, force: true });
      after?.();
    },
  };
}

/**
 * Safety net: overlays still mounted when the process exits (a caller forgot unmount, or threw past
 * it) are detached (umount -l) so they do not outlive the process. A SIGKILL skips this.
 */
const live = new Set<string>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    const umount = findHostBinary('umount');
    if (!umount) return;
    for (const r of live) {
      try {
        execFileSync(umount, ['-l', r], { stdio: 'ignore' });
      } catch {
        /* ignore */
      }
    }
  });
}

export async function umountRetry(target: string): Promise<void> {
  const umount = requireHostBinary('umount', 'util-linux');
  let last: unknown;
  for (let i = 0; i < 20; i++) {
    try {
      await run(umount, [target]);
      return;
    } catch (e) {
      last = e;
      const msg = String((e as { stderr?: string }).stderr ?? '');
      if (/not mounted|no mount point/i.test(msg)) return;
      await new Promise((r) => setTimeout(r, 50 * (i + 1)));
    }
  }
  // still busy: detach it so the scratch dir can go
  try {
    await run(umount, ['-l', target]);
  } catch {
    throw last;
  }
}
