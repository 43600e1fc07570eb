/**
 * Cross-process locks on the store, implemented with the kernel's flock(2) through util-linux's
 * `flock` helper (Node has no flock binding): a child process takes the lock on `locks/NAME.lock`,
 * says "L" when it holds it, and keeps it until its stdin closes. Because the kernel drops the lock
 * when the holder dies, and the holder dies when our stdin pipe closes, a SIGKILLed stagecraft never
 * leaves a stale lock behind: no pid files to clean up, no timeouts to guess.
 *
 * Exclusive locks serialize index updates and snapshot unpacking; the shared "gc" lease is held by
 * any process that writes blobs (from its first write until exit or `release`), and garbage
 * collection takes it exclusively so it never deletes a blob that a running build just wrote but has
 * not referenced yet.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { join } from 'node:path';

export interface HeldLock {
  release(): Promise<void>;
}

type Holder = ChildProcessByStdio<Writable, Readable, null>;

/**
 * Takes `locks/NAME.lock`. `shared` = flock -s; `waitMs` = give up after that long (0 = try once);
 * resolves undefined when not acquired in time.
 */
export function acquireLock(lockDir: string, name: string, opts: { shared?: boolean; waitMs?: number; daemon?: boolean } = {}): Promise<HeldLock | undefined> {
  const file = join(lockDir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`);
  const args = [opts.shared ? '-s' : '-x'];
  if (opts.waitMs !== undefined) args.push('-w', String(Math.max(0, opts.waitMs) / 1000));
  args.push('-E', '75', file, 'sh', '-c', 'echo L; exec cat >/dev/null');
  return new Promise((resolve, reject) => {
    let child: Holder;
    try {
      child = spawn('flock', args, { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch (e) {
      reject(e);
      return;
    }
    let got = false;
    const onData = (d: Buffer): void => {
      if (got || !d.toString().includes('L')) return;
      got = true;
      if (opts.daemon) {
        child.unref();
        (child.stdout as unknown as { unref?: () => void }).unref?.();
        (child.stdin as unknown as { unref?: () => void }).unref?.();
      }
      const exited = new Promise<void>((r) => child.once('close', () => r()));
      resolve({
        release: async () => {
          child.stdin.end();
          await exited;
        },
      });
    };
    child.stdout.on('data', onData);
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      if (!got) reject(new Error(`cannot take store lock (flock): ${e.message}`));
    });
    child.on('close', (code) => {
      if (got) return;
      if (code === 75) resolve(undefined);
      else reject(new Error(`cannot take store lock ${file} (flock exited ${code})`));
    });
  });
}

/** Runs fn while holding the exclusive lock NAME. */
export async function withFileLock<T>(lockDir: string, name: string, fn: () => Promise<T>): Promise<T> {
  const l = await acquireLock(lockDir, name);
  if (!l) throw new Error(`lock ${name} not acquired`);
  try {
    return await fn();
  } finally {
    await l.release();
  }
}
