/**
 * Crash-safe file primitives for the store: write to a temp file in the same directory tree, fsync,
 * rename over the target, fsync the directory. A reader sees the old or the new file, never a torn one.
 * Temp names carry the writer's pid so `fsck` can tell abandoned temp files from live ones.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

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

/**
 * Makes everything written so far on the filesystem holding `path` durable: syncfs(2), through
 * coreutils' `sync -f` (Node has no binding). One call covers a whole snapshot tree, however many
 * files it has, for the price of one flush; without `sync` on the host, every file and directory
 * under `path` is fsynced instead (the same guarantee for that tree, slower).
 */
export async function syncFilesystem(path: string): Promise<void> {
  for (const bin of ['/usr/bin/sync', '/bin/sync']) {
    try {
      await promisify(execFile)(bin, ['-f', path]);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') break;
    }
  }
  await fsyncTree(path);
}

async function fsyncTree(p: string): Promise<void> {
  const st = await lstat(p);
  if (st.isDirectory()) for (const n of await readdir(p)) await fsyncTree(join(p, n));
  else if (!st.isFile()) return;
  const fh = await open(p, 'r');
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
