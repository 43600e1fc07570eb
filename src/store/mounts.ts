/**
 * Mounts a dead process left in the host's mount table: what an older stagecraft (mounting in the
 * host namespace) or a crash of a `run` supervisor leaves under the store. In: a directory. Out: the
 * mount points under it, detached (`umount -l`, deepest first) so the directory can be removed
 * instead of failing with EBUSY. Reads /proc/self/mountinfo (octal escapes decoded).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Mount points at or under `dir` in this process's mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  let info = '';
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const base = dir.replace(/\/+$/, '');
  const out = new Set<string>();
  for (const line of info.split('\n')) {
    const f = line.split(' ')[4];
    if (!f) continue;
    const mp = unescape(f);
    if (mp === base || mp.startsWith(`${base}/`)) out.add(mp);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** Lazily unmounts every mount point at or under `dir`; returns those it detached. */
export function detachMountsUnder(dir: string): string[] {
  const done: string[] = [];
  for (const mp of mountsUnder(dir)) {
    for (const umount of ['/usr/bin/umount', '/bin/umount', 'umount']) {
      try {
        execFileSync(umount, ['-l', mp], { stdio: 'ignore' });
        done.push(mp);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') break;
      }
    }
  }
  return done;
}
