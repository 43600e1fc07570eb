/**
 * Rootless specs: run the CLI as an ordinary user (`runuser -u USER`) from a root test process, and
 * tell whether the spec run itself is the rootless pass of CI.
 *
 * Users (created by .ci/run, or by hand the same way): $STAGECRAFT_TEST_USER (default `scbuild`)
 * with subordinate ID ranges in /etc/subuid and /etc/subgid, and $STAGECRAFT_TEST_SINGLE_USER
 * (default `scsingle`) with none (the single-ID mapping). Specs that need them skip when they are
 * missing or when not run as root.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI, REPO, isRoot, runCollect, tmp, type CliResult } from './index.js';

export const RANGED_USER = process.env.STAGECRAFT_TEST_USER ?? 'scbuild';
export const SINGLE_USER = process.env.STAGECRAFT_TEST_SINGLE_USER ?? 'scsingle';

/** Set by .ci/run for its second pass, where vitest itself runs as the unprivileged user. */
export const rootlessPass = process.env.STAGECRAFT_TEST_ROOTLESS === '1' && !isRoot;
/** Builds and containers can run here: as root, or as the rootless pass' user (the CLI enters a user namespace). */
export const canBuild = isRoot || rootlessPass;

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The first /etc/passwd entry `match` accepts. */
function passwdEntry(match: (e: PasswdEntry) => boolean): PasswdEntry | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f.length < 4) continue;
    const e = { name: f[0] as string, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' };
    if (match(e)) return e;
  }
  return undefined;
}

function passwd(user: string): PasswdEntry | undefined {
  return passwdEntry((e) => e.name === user);
}

function hasRange(file: string, user: string, uid: number): boolean {
  try {
    return readFileSync(file, 'utf8').split('\n').some((l) => l.startsWith(`${user}:`) || l.startsWith(`${uid}:`));
  } catch {
    return false;
  }
}

/** The name of the user with uid `uid` (undefined: none in /etc/passwd). */
export function userOf(uid: number): string | undefined {
  return passwdEntry((e) => e.uid === uid)?.name;
}

/** True when `user` exists (and, with `ranges`, has /etc/subuid and /etc/subgid ranges; without, has none) and we are root. */
export function userReady(user: string, ranges: boolean): boolean {
  const p = passwd(user);
  if (!isRoot || !p) return false;
  const has = hasRange('/etc/subuid', user, p.uid) && hasRange('/etc/subgid', user, p.uid);
  return ranges ? has : !hasRange('/etc/subuid', user, p.uid) && !hasRange('/etc/subgid', user, p.uid);
}

/** A fresh temp dir owned by `user` (mode 0700: the user's own files). */
export function userTmp(user: string, prefix = 'sc-user-'): string {
  const d = tmp(prefix);
  chownTo(user, d);
  return d;
}

/** Gives `path` (recursively) to `user`, e.g. a build context written by the root test process. */
export function chownTo(user: string, path: string): void {
  execFileSync('chown', ['-R', `${user}:`, path]);
}

/**
 * Runs `stagecraft ARGS` as `user` with a clean environment (that user's HOME, the store `root`);
 * never throws on a non-zero exit.
 */
export function runCliAs(user: string, args: string[], opts: { root?: string; env?: Record<string, string>; cwd?: string; input?: string } = {}): Promise<CliResult> {
  const p = passwd(user);
  if (!p) throw new Error(`no such user: ${user}`);
  const env: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: p.home, USER: user, LOGNAME: user, ...opts.env };
  if (opts.root) env.STAGECRAFT_ROOT = opts.root;
  const argv = ['-u', user, '--', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, CLI, ...args];
  return runCollect('runuser', argv, { cwd: opts.cwd, input: opts.input, timeoutMs: 600_000 });
}

/** Like runCliAs but throws with the output when the exit code is not 0. */
export async function cliAs(user: string, args: string[], opts: Parameters<typeof runCliAs>[2] = {}): Promise<CliResult> {
  const r = await runCliAs(user, args, opts);
  if (r.code !== 0) throw new Error(`stagecraft ${args.join(' ')} as ${user} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

/** Runs a host command as `user` (e.g. the base-image script); throws on failure. */
export function execAs(user: string, argv: string[], env: Record<string, string> = {}): string {
  const p = passwd(user);
  if (!p) throw new Error(`no such user: ${user}`);
  const e = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: p.home, ...env };
  return execFileSync('runuser', ['-u', user, '--', 'env', '-i', ...Object.entries(e).map(([k, v]) => `${k}=${v}`), ...argv], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 1_200_000 });
}
