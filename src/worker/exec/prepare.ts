/**
 * Host-side preparation shared by every runtime: mount points created in the rootfs only for the
 * time a container runs (and removed afterwards, parent mtimes restored, so an overlay upper keeps
 * no trace of them), the /etc/hosts and /etc/resolv.conf files bind-mounted into the container, the
 * working directory, and Docker's lookup of the command (126 not executable / 127 not found).
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { findHostBinary } from './hostbin.js';
import { privateScratch } from './privatens.js';
import { dirname, join, posix } from 'node:path';
import { cleanPath, resolveInRoot } from '../../util/fspath.js';
import type { ExecUser } from './user.js';
import type { NetworkMode } from './types.js';
import { SLIRP } from './network.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Creates mount points in a rootfs and removes exactly what it created, newest first. */
export class MountPoints {
  private created: { path: string; dir: boolean }[] = [];
  private parents = new Map<string, { atime: bigint; mtime: bigint }>();
  constructor(readonly rootfs: string) {}

  /**
   * Returns the host path of container path `p` (symlinks followed inside the root), creating it
   * (and missing parents) as a directory or an empty file when it does not exist.
   */
  ensure(p: string, kind: 'dir' | 'file', keep = false): string {
    const host = resolveInRoot(this.rootfs, p, true);
    if (pathExists(host)) return host;
    const missing: string[] = [];
    let cur = host;
    while (!pathExists(cur)) {
      missing.unshift(cur);
      const up = dirname(cur);
      if (up === cur) break;
      cur = up;
    }
    this.rememberParent(cur);
    for (let i = 0; i < missing.length; i++) {
      const m = missing[i]!;
      const last = i === missing.length - 1;
      if (last && kind === 'file') {
        writeFileSync(m, '', { mode: 0o644, flag: 'wx' });
        this.created.push({ path: m, dir: false });
      } else {
        mkdirSync(m, { mode: 0o755 });
        chmodSync(m, 0o755);
        if (!keep) this.created.push({ path: m, dir: true });
      }
    }
    return host;
  }

  private rememberParent(p: string): void {
    if (this.parents.has(p)) return;
    try {
      const st = statSync(p, { bigint: true });
      this.parents.set(p, { atime: st.atimeNs, mtime: st.mtimeNs });
    } catch {
      /* ignore */
    }
  }

  /** Removes what `ensure` created (only when still empty) and restores the parents' times. */
  cleanup(): void {
    const failed = new Set<string>();
    for (const c of this.created.reverse()) {
      try {
        if (c.dir) rmdirSync(c.path);
        else unlinkSync(c.path);
      } catch {
        failed.add(dirname(c.path));
      }
    }
    this.created = [];
    for (const [p, t] of this.parents) {
      if (failed.has(p)) continue;
      restoreTimes(p, t.atime, t.mtime);
    }
    this.parents.clear();
  }
}

const ns = (t: bigint) => `@${t / 1_000_000_000n}.${String(t % 1_000_000_000n).padStart(9, '0')}`;

/** utimes() takes float seconds (µs precision at best); `touch -d @S.NNNNNNNNN` restores exact ns. */
function restoreTimes(p: string, atime: bigint, mtime: bigint): void {
  const touch = findHostBinary('touch');
  try {
    if (touch) {
      execFileSync(touch, ['-c', '-m', '-d', ns(mtime), p], { stdio: 'ignore' });
      execFileSync(touch, ['-c', '-a', '-d', ns(atime), p], { stdio: 'ignore' });
    } else {
      utimesSync(p, Number(atime) / 1e9, Number(mtime) / 1e9);
    }
  } catch {
    /* best effort */
  }
}

function pathExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Creates the working directory like Docker (root-owned 0755, kept). Returns its host path. */
export function ensureCwd(rootfs: string, cwd: string): string {
  const host = resolveInRoot(rootfs, cwd, true);
  if (!existsSync(host)) mkdirSync(host, { recursive: true, mode: 0o755 });
  return host;
}

/**
 * A private temp dir with the `hosts` and `resolv.conf` the container sees: under `scratchDir` when
 * given (a container's own dir in the store), else on the private tmpfs (gone with this process).
 */
export function makeEtcFiles(hostname: string, network: NetworkMode, scratchDir?: string): { dir: string; hosts: string; resolv: string } {
  const dir = scratchDir ? mkdtempSync(join(scratchDir, 'sc-exec-')) : privateScratch('sc-exec-');
  const hosts = join(dir, 'hosts');
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  if (hostname) lines.push(`127.0.1.1\t${hostname}`);
  writeFileSync(hosts, `${lines.join('\n')}\n`, { mode: 0o644 });
  const resolv = join(dir, 'resolv.conf');
  let text = '';
  try {
    text = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    text = '';
  }
  // slirp4netns: the host's loopback resolvers (systemd-resolved, dnsmasq) are out of reach; its
  // DNS forwarder (10.0.2.3) asks the host's resolvers for the container
  if (network === 'slirp4netns') text = `nameserver ${SLIRP.dns}\n${text.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l) && l.trim()).join('\n')}\n`;
  writeFileSync(resolv, text, { mode: 0o644 });
  return { dir, hosts, resolv };
}

export function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* ignore */
  }
}

export function envLookup(env: string[], key: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    const e = env[i]!;
    if (e.startsWith(`${key}=`)) return e.slice(key.length + 1);
  }
  return undefined;
}

/** Docker's env defaults: PATH when missing, HOME from the user's passwd entry. */
export function withDefaultEnv(env: string[], user: ExecUser, hostname?: string): string[] {
  const out = [...env];
  if (envLookup(out, 'PATH') === undefined) out.unshift(`PATH=${DEFAULT_PATH}`);
  if (hostname && envLookup(out, 'HOSTNAME') === undefined) out.push(`HOSTNAME=${hostname}`);
  if (envLookup(out, 'HOME') === undefined) out.push(`HOME=${user.home || '/'}`);
  return out;
}

export interface LookupFailure {
  exitCode: 126 | 127;
  error: string;
}

/**
 * Finds argv[0] in the container like execvp would (PATH search without a slash, relative to cwd
 * with one). Returns undefined when it looks executable, else Docker's 126/127 with its message.
 */
export function lookupCommand(rootfs: string, arg0: string | undefined, env: string[], cwd: string, user: ExecUser): LookupFailure | undefined {
  if (!arg0) return { exitCode: 127, error: 'exec: no command specified' };
  const check = (containerPath: string): 'ok' | 'missing' | 'noexec' => {
    let st;
    try {
      st = statSync(resolveInRoot(rootfs, containerPath, true));
    } catch {
      return 'missing';
    }
    if (st.isDirectory()) return 'noexec';
    if (!canExec(st, user)) return 'noexec';
    return 'ok';
  };
  if (arg0.includes('/')) {
    const p = arg0.startsWith('/') ? arg0 : posix.join(cleanPath(cwd), arg0);
    const r = check(p);
    if (r === 'missing') return { exitCode: 127, error: `exec: "${arg0}": stat ${arg0}: no such file or directory` };
    if (r === 'noexec') return { exitCode: 126, error: `exec: "${arg0}": permission denied` };
    return undefined;
  }
  const path = envLookup(env, 'PATH') ?? DEFAULT_PATH;
  let sawNoexec = false;
  for (const dir of path.split(':')) {
    const d = dir === '' ? cleanPath(cwd) : dir.startsWith('/') ? dir : posix.join(cleanPath(cwd), dir);
    const r = check(posix.join(d, arg0));
    if (r === 'ok') return undefined;
    if (r === 'noexec') sawNoexec = true;
  }
  if (sawNoexec) return { exitCode: 126, error: `exec: "${arg0}": permission denied` };
  return { exitCode: 127, error: `exec: "${arg0}": executable file not found in $PATH` };
}

function canExec(st: { mode: number; uid: number; gid: number }, user: ExecUser): boolean {
  if (user.uid === 0) return (st.mode & 0o111) !== 0;
  if (st.uid === user.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === user.gid || user.groups.includes(st.gid)) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}
