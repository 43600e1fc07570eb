/**
 * Crash-safe file primitives for the store: write to a temp file in the same directory tree, fsync,
 * rename over the target, fsync the directory. A reader sees the old or the new file, never a torn one.
 * Temp names carry the writer's pid so `fsck` can tell abandoned temp files from live ones.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function tempName(dir: string, prefix: string): string {
  return join(dir, `${prefix}${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Atomically replaces `file` with `data` (temp + fsync + rename + dir fsync). */
export async function writeFileAtomic(file: string, data: Buffer | string, tmpDir = dirname(file)): Promise<void> {
  const tmp = tempName(tmpDir, '.w-');
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(file));
}

/** pid liveness for stale temp files and locks (EPERM means alive but not ours) */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
