/**
 * Before the suite: bundles the CLI once, so tests spawn `node dist/stagecraft.js` like a user, and
 * points TMPDIR at a fresh directory for this run. After the suite: lazily unmounts anything a test
 * left mounted under it and removes it, so no run leaves temp trees or mounts behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  // the rootless pass of .ci/run runs as a user who cannot write the checkout: it reuses the first pass' bundle
  if (process.env.STAGECRAFT_TEST_NO_BUNDLE !== '1') execFileSync(process.execPath, ['scripts/bundle.mjs'], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'stagecraft-tests-'));
  // traversable (not listable) by others: the rootless specs give temp dirs inside to a test user
  chmodSync(dir, 0o711);
  process.env.TMPDIR = dir;
  return () => {
    try {
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[4])
        .filter((m): m is string => !!m && m.startsWith(`${dir}/`))
        .sort((a, b) => b.length - a.length);
      for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      /* not Linux */
    }
    try {
      if (!process.env.STAGECRAFT_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      // the rootless pass cannot remove files its builds gave subordinate IDs: .ci/run removes them as root
      if (process.env.STAGECRAFT_TEST_ROOTLESS !== '1') throw e;
    }
  };
}
