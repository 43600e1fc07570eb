/**
 * The offline Debian base of the specs: bookworm made with debootstrap (minbase, over Debian's
 * plain-HTTP mirror), cached as a tarball in $STAGECRAFT_TEST_CACHE between runs, for `stagecraft
 * import`. Specs that need it skip without debootstrap or root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_CACHE } from './index.js';

export const hasDebootstrap = existsSync('/usr/sbin/debootstrap') || existsSync('/usr/bin/debootstrap');

/** The debootstrapped bookworm tree as a tarball, made once and cached. */
export function bookwormTar(): string {
  const dir = join(TEST_CACHE, 'bookworm');
  const tar = join(TEST_CACHE, 'bookworm-rootfs.tar');
  if (existsSync(tar)) return tar;
  if (!existsSync(dir)) {
    const tmpDir = `${dir}.tmp-${process.pid}`;
    rmSync(tmpDir, { recursive: true, force: true });
    execFileSync('debootstrap', ['--variant=minbase', 'bookworm', tmpDir, process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian'], { stdio: 'ignore' });
    renameSync(tmpDir, dir);
  }
  const t = `${tar}.${process.pid}.tmp`;
  execFileSync('tar', ['--numeric-owner', '--xattrs', '-C', dir, '-cf', t, '.']);
  renameSync(t, tar);
  return tar;
}
