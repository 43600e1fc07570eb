/**
 * The offline Debian bases of the specs, made the way examples/fruit-cost/demo.sh makes them, by
 * scripts/make-node-base.sh: debootstrap --variant=minbase bookworm (over Debian's plain-HTTP
 * mirror) and this machine's Node.js, both cached in $STAGECRAFT_CACHE. Specs that need them skip
 * without debootstrap or root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, REPO, cli } from './index.js';

const CACHE = process.env.STAGECRAFT_CACHE ?? '/var/tmp/stagecraft-cache';
const SCRIPT = join(REPO, 'scripts/make-node-base.sh');

export const hasDebootstrap = existsSync('/usr/sbin/debootstrap') || existsSync('/usr/bin/debootstrap');

/** The debootstrapped bookworm tree as a tarball (no Node), made once and cached by the script. */
export function bookwormTar(): string {
  return execFileSync('bash', [SCRIPT, '--rootfs-only'], {
    env: { ...process.env, STAGECRAFT_CACHE: CACHE },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 1_200_000,
  }).trim();
}

/** Imports node-base:bookworm and debian:bookworm-slim into the store at `root`. */
export async function importDebianBases(root: string): Promise<void> {
  execFileSync('bash', [SCRIPT, process.execPath, CLI], {
    env: { ...process.env, STAGECRAFT_ROOT: root, STAGECRAFT_CACHE: CACHE },
    stdio: 'ignore',
    timeout: 1_200_000,
  });
  await cli(['import', bookwormTar(), 'debian:bookworm-slim', '--change', 'CMD ["bash"]'], { root, timeoutMs: 600_000 });
}
