/**
 * Shared test helpers: run the bundled CLI, make throwaway store roots, and build the offline
 * busybox base (from Debian's busybox-static) that the fast tests use.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync, writeFileSync, symlinkSync, copyFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'dist', 'stagecraft.js');
/** Cache shared between test runs (rootfs tarballs, debootstrap trees). */
export const TEST_CACHE = process.env.STAGECRAFT_TEST_CACHE ?? '/var/tmp/stagecraft-test-cache';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `stagecraft ARGS` with the given store root; never throws on a non-zero exit. */
export function runCli(
  args: string[],
  opts: { root?: string; env?: Record<string, string>; cwd?: string; input?: string | Buffer; timeoutMs?: number } = {},
): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  if (!opts.env || !('CI' in opts.env)) delete env.CI; // CI=true would turn analyze into dive's CI mode
  if (opts.root) env.STAGECRAFT_ROOT = opts.root;
  return runCollect(process.execPath, [CLI, ...args], { ...opts, env });
}

/** Runs `cmd ARGS` and collects its output; never throws on a non-zero exit (a timeout SIGKILLs it). */
export function runCollect(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; input?: string | Buffer; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = opts.timeoutMs ? setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs) : undefined;
    p.on('error', rej);
    p.on('close', (code, sig) => {
      if (t) clearTimeout(t);
      res({ code: code ?? (sig ? 128 : 1), stdout, stderr });
    });
    p.stdin.end(opts.input ?? '');
  });
}

/** Like runCli but throws with the output when the exit code is not 0. */
export async function cli(args: string[], opts: Parameters<typeof runCli>[1] = {}): Promise<CliResult> {
  const r = await runCli(args, opts);
  if (r.code !== 0) throw new Error(`stagecraft ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

const tmpDirs: string[] = [];
/** A fresh temporary directory, removed at process exit. */
export function tmp(prefix = 'sc-test-'): string {
  const d = mkdtempSync(join(process.env.STAGECRAFT_TEST_TMP ?? tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}
process.on('exit', () => {
  if (process.env.STAGECRAFT_KEEP_TMP) return;
  for (const d of tmpDirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      /* a busy mount: leave it */
    }
  }
});

/**
 * A rootfs tarball with Debian's static busybox: /bin/busybox plus one symlink per applet,
 * /etc/passwd and /etc/group (root, nobody, and `app` uid 1000), /tmp, /root. Cached in TEST_CACHE.
 */
export function busyboxRootfsTar(): string {
  const out = join(TEST_CACHE, 'busybox-rootfs-v2.tar');
  if (existsSync(out)) return out;
  const bb = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!bb) throw new Error('busybox-static is not installed (apt-get install busybox-static)');
  mkdirSync(TEST_CACHE, { recursive: true });
  const dir = mkdtempSync(join(TEST_CACHE, 'bb-'));
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root', 'home/app', 'var', 'proc', 'dev', 'sys']) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  copyFileSync(bb, join(dir, 'bin/busybox'));
  execFileSync('chmod', ['0755', dir]); // mkdtemp made it 0700: the image's / must be 0755
  execFileSync('chmod', ['1777', join(dir, 'tmp')]);
  execFileSync('chmod', ['0755', join(dir, 'bin/busybox')]);
  const applets = execFileSync(bb, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) {
    const p = join(dir, a);
    if (a === 'bin/busybox' || existsSync(p)) continue;
    symlinkSync('/bin/busybox', p);
  }
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n');
  execFileSync('chown', ['1000:1000', join(dir, 'home/app')]);
  const tmpTar = `${out}.${process.pid}.tmp`;
  execFileSync('tar', ['--numeric-owner', '-C', dir, '-cf', tmpTar, '.']);
  renameSync(tmpTar, out);
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** Imports the busybox rootfs as NAME (default busybox:latest) into the store at `root`. */
export async function importBusybox(root: string, name = 'busybox:latest'): Promise<void> {
  await cli(['import', busyboxRootfsTar(), name, '--change', 'CMD ["sh"]'], { root });
}

/** True when running as root (namespaces, mounts, chown). */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
