/**
 * The offline Debian bases, made the way examples/fruit-cost/demo.sh makes them: one run of
 * scripts/make-node-base.sh (debootstrap --variant=minbase bookworm + this machine's Node.js,
 * both cached in $STAGECRAFT_CACHE) imports `node-base:bookworm` into the store; the same cached
 * Debian tree is imported as `debian:bookworm-slim` (no Node).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, REPO, cli } from './index.js';

const CACHE = process.env.STAGECRAFT_CACHE ?? '/var/tmp/stagecraft-cache';

/** Imports node-base:bookworm and debian:bookworm-slim into the store at `root`. */
export async function importDebianBases(root: string): Promise<void> {
  execFileSync('bash', [join(REPO, 'scripts/make-node-base.sh'), process.execPath, CLI], {
    env: { ...process.env, STAGECRAFT_ROOT: root, STAGECRAFT_CACHE: CACHE },
    stdio: 'ignore',
    timeout: 1_200_000,
  });
  await cli(['import', join(CACHE, 'bookworm-minbase.tar'), 'debian:bookworm-slim', '--change', 'CMD ["bash"]'], { root, timeoutMs: 600_000 });
}
