/**
 * The builtin runtime: needs nothing but util-linux (and a host /bin/sh). Spawns
 * `unshare --mount --uts --ipc --pid [--net] --fork --kill-child --propagation private /bin/sh -c SETUP`
 * (unless `outlivesCaller`, under `tiedToCaller`: the container dies with the caller, even by SIGKILL);
 * SETUP runs on the HOST side inside the new namespaces (the image may have no shell), mounts /proc,
 * a tmpfs /dev (nodes copied from a cached skeleton), devpts, /dev/shm, mqueue, sysfs (ro),
 * hosts/resolv.conf and the extra mounts into the rootfs with ONE `mount -a -T FSTAB`, then execs `env -i ENV setpriv --regid --groups --bounding-set(docker's caps)
 * unshare --root=ROOTFS --wd=CWD [--setuid UID] -- ARGS`. Every mount lives in the private mount
 * namespace and disappears with it. Trade-off: a chroot (unshare --root), not pivot_root.
 * Host tools used: util-linux (unshare, mount, setpriv), coreutils (env, cp, mknod once), /bin/sh,
 * and iproute2's `ip` (optional, to bring lo up with --network none).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { findHostBinary, requireHostBinary } from './hostbin.js';
import type { Prepared } from './prepared.js';
import { TIED_DEPTH, descendant, runDir, tiedToCaller } from './privatens.js';
import { inSlot, outSlot, wireStdio } from './stdio.js';
import type { Readable } from 'node:stream';
import { inUserNamespace, isMapped, setgroupsAllowed } from '../../util/userns.js';

export const DOCKER_CAPS = [
  'chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap',
  'net_bind_service', 'net_raw', 'sys_chroot', 'mknod', 'audit_write', 'setfcap',
];

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface Launched {
  child: ChildProcess;
  /** Resolves true once the setup finished and the container command is being exec'd. */
  setup: Promise<{ ok: boolean; message: string }>;
  kill(sig: NodeJS.Signals): void;
  /** Extra cleanup after exit (runtime state). */
  after(): Promise<void>;
  /** The runtime's own error output, if any (shown when the setup fails). */
  diagnostics?(): string;
  /** Maps the runtime process' exit to the container's (runtime quirks). */
  translate?(code: number | null, sig: NodeJS.Signals | null): { code: number | null; sig: NodeJS.Signals | null };
}

/** fstab field escaping (mount(8) decodes \040 etc.) */
const fe = (s: string) => s.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);

/**
 * The mount table of a container, in order, as fstab text: ONE `mount -a -T FILE` does all mounts
 * (util-linux starts in ~10-20 ms; one call per mount would dominate the start time).
 */
export function containerFstab(p: Prepared): string {
  const dev = p.paths.dev;
  const rows: [string, string, string, string][] = [
    ['proc', p.paths.proc, 'proc', 'nosuid,nodev,noexec'],
    ['tmpfs', dev, 'tmpfs', 'nosuid,strictatime,mode=755,size=65536k'],
    // gid 5 (tty) is not mapped in a single-ID rootless namespace: devpts refuses the option there
    ['devpts', `${dev}/pts`, 'devpts', `newinstance,ptmxmode=0666,mode=0620${isMapped('gid', 5) ? ',gid=5' : ''},nosuid,noexec,x-mount.mkdir`],
    ['shm', `${dev}/shm`, 'tmpfs', 'nosuid,nodev,noexec,mode=1777,size=65536k,x-mount.mkdir'],
    ['mqueue', `${dev}/mqueue`, 'mqueue', 'nosuid,nodev,noexec,x-mount.mkdir'],
    // sysfs needs a network namespace of our own user namespace: rootless with the host network binds the host's
    inUserNamespace() && p.spec.network === 'host' ? ['/sys', p.paths.sys, 'none', 'rbind,ro'] : ['sysfs', p.paths.sys, 'sysfs', 'ro,nosuid,nodev,noexec'],
    [p.etc.resolv, p.paths.resolv, 'none', 'bind'],
    [p.etc.hosts, p.paths.hosts, 'none', 'bind'],
  ];
  for (const m of p.mounts) {
    if (m.mount.type === 'bind') {
      const mk = m.kind === 'dir' ? ',x-mount.mkdir' : '';
      rows.push([m.mount.source, m.host, 'none', (m.mount.readonly ? 'rbind,ro' : 'rbind') + mk]);
    } else {
      const opts = ['nosuid', 'nodev', `mode=${(m.mount.mode ?? 0o1777).toString(8)}`];
      if (m.mount.size) opts.push(`size=${m.mount.size}`);
      rows.push(['tmpfs', m.host, 'tmpfs', [...opts, 'x-mount.mkdir'].join(',')]);
    }
  }
  return rows.map((r) => `${r.map(fe).join(' ')} 0 0`).join('\n') + '\n';
}

const DEV_NODES = [['null', 1, 3], ['zero', 1, 5], ['full', 1, 7], ['random', 1, 8], ['urandom', 1, 9], ['tty', 5, 0]] as const;

/**
 * Rootless: a user namespace cannot mknod devices, so the template holds empty files that the setup
 * bind-mounts the host's nodes onto (as rootless runc and Podman do), in this fstab.
 */
export function devBindFstab(dev: string): string {
  return DEV_NODES.map(([n]) => `${fe(`/dev/${n}`)} ${fe(`${dev}/${n}`)} none bind 0 0`).join('\n') + '\n';
}

let template: string | undefined;
/**
 * A /dev skeleton (null zero full random urandom tty, ptmx/fd/stdin/stdout/stderr links) made once per
 * host in a root-only dir and copied into each container's /dev tmpfs with one `cp -a`. In a user
 * namespace the nodes are empty files (see devBindFstab).
 */
export function devTemplate(): string {
  if (template) return template;
  const base = runDir();
  const userns = inUserNamespace();
  const dir = join(base, userns ? 'dev-template-userns-v1' : 'dev-template-v1');
  const ok = () => {
    try {
      const st = lstatSync(dir);
      return st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0 && existsSync(join(dir, 'urandom')) && existsSync(join(dir, 'stderr'));
    } catch {
      return false;
    }
  };
  if (!ok()) {
    mkdirSync(base, { recursive: true, mode: 0o700 });
    const tmp = mkdtempSync(join(base, '.dev-'));
    chmodSync(tmp, 0o755);
    if (userns) {
      for (const [n] of DEV_NODES) writeFileSync(join(tmp, n), '', { mode: 0o666 });
    } else {
      const mknod = requireHostBinary('mknod', 'coreutils');
      for (const [n, maj, min] of DEV_NODES) execFileSync(mknod, ['-m', '666', join(tmp, n), 'c', String(maj), String(min)]);
    }
    for (const [target, name] of [['pts/ptmx', 'ptmx'], ['/proc/self/fd', 'fd'], ['/proc/self/fd/0', 'stdin'], ['/proc/self/fd/1', 'stdout'], ['/proc/self/fd/2', 'stderr']] as const) {
      symlinkSync(target, join(tmp, name));
    }
    try {
      renameSync(tmp, dir);
    } catch {
      rmSync(tmp, { recursive: true, force: true });
      if (!ok()) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`cannot prepare ${dir}`);
      }
    }
  }
  template = dir;
  return dir;
}

export function buildSetupScript(p: Prepared): string {
  const mount = requireHostBinary('mount', 'util-linux');
  const cp = requireHostBinary('cp', 'coreutils');
  const env = requireHostBinary('env', 'coreutils');
  const setpriv = requireHostBinary('setpriv', 'util-linux');
  const unshare = requireHostBinary('unshare', 'util-linux');
  const s = p.spec;
  const fstab = join(p.etc.dir, 'fstab');
  writeFileSync(fstab, containerFstab(p));
  const L: string[] = ['set -e', 'exec 2>&3'];
  // tied to a caller that died before the parent-death signal was armed: do not start
  if (!s.outlivesCaller) L.push(`[ -d /proc/${process.pid} ] || exit 1`);
  const R = q(p.rootfs);
  // -n: no /run/mount/utab bookkeeping. These mounts die with the namespace, never unmounted,
  // so libmount would keep their x-mount.mkdir entries forever: the file grew by three lines per
  // container and every later mount on the host parsed it (1 MB after a day of tests: +10 ms/mount).
  if (s.readOnlyRoot) L.push(`${mount} -n --bind ${R} ${R}`);
  L.push(`${mount} -n -a -T ${q(fstab)}`);
  L.push(`${cp} -a ${q(`${devTemplate()}/.`)} ${q(p.paths.dev)}`);
  if (inUserNamespace()) {
    const devFstab = join(p.etc.dir, 'fstab-dev');
    writeFileSync(devFstab, devBindFstab(p.paths.dev));
    L.push(`${mount} -n -a -T ${q(devFstab)}`);
  }
  if (s.hostname) {
    // in a user namespace /proc/sys belongs to the host's root: sethostname(2) through hostname(1)
    const hostname = inUserNamespace() ? requireHostBinary('hostname', 'hostname') : undefined;
    L.push(hostname ? `${hostname} ${q(s.hostname)}` : `printf '%s' ${q(s.hostname)} > /proc/sys/kernel/hostname`);
  }
  if (s.network === 'none') {
    const ip = findHostBinary('ip');
    if (ip) L.push(`${ip} link set lo up 2>/dev/null || true`);
  }
  if (s.readOnlyRoot) L.push(`${mount} -n -o remount,bind,ro ${R}`);
  L.push(`printf 'OK' >&3`);
  L.push('exec 2>&4 4>&- 3>&-');
  const u = p.user;
  // a single-ID rootless mapping denies setgroups(2): keep the (one) group there is
  const groups = !setgroupsAllowed() ? '--keep-groups' : u.groups.length ? `--groups=${u.groups.join(',')}` : '--clear-groups';
  const caps = `--bounding-set=-all,${DOCKER_CAPS.map((c) => `+${c}`).join(',')}`;
  const inner = [unshare, `--root=${p.rootfs}`, `--wd=${p.cwd}`];
  if (u.uid !== 0) inner.push(`--setuid=${u.uid}`);
  const argv = [env, '-i', ...p.env, setpriv, `--regid=${u.gid}`, groups, caps, ...inner, '--', ...s.args];
  L.push(`exec ${argv.map(q).join(' ')}`);
  return `${L.join('\n')}\n`;
}

export function launchBuiltin(p: Prepared): Launched {
  const unshare = requireHostBinary('unshare', 'util-linux');
  const sh = requireHostBinary('sh', 'a POSIX shell');
  const s = p.spec;
  // slirp4netns: join the namespace network.ts bound to a file (slirp4netns serves its tap0)
  const inner = p.netns ? [requireHostBinary('nsenter', 'util-linux'), `--net=${p.netns}`] : [];
  inner.push(unshare, '--mount', '--uts', '--ipc', '--pid', '--fork', '--kill-child', '--propagation', 'private');
  if (s.network === 'none') inner.push('--net');
  inner.push(sh, '-c', buildSetupScript(p), 'stagecraft-setup');
  const tied = !s.outlivesCaller;
  const [cmd, ...args] = tied ? tiedToCaller(inner) : inner;
  // the container's init: unshare's child, below the tying init when tied
  const depth = 1 + (tied ? TIED_DEPTH : 0);
  // fds above 2 set to 'ignore' are closed in the child, not /dev/null: open it ourselves
  const errSlot = outSlot(s.stderr);
  const devnull = errSlot === 'ignore' ? openSync('/dev/null', 'w') : undefined;
  const child = spawn(cmd!, args, {
    // fd 2: unshare's own diagnostics; fd 3: setup status (+ setup errors); fd 4: the container's stderr
    stdio: [inSlot(s.stdin), outSlot(s.stdout), 'pipe', 'pipe', devnull ?? errSlot],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
    detached: !s.tty,
    cwd: posix.sep,
  });
  if (devnull !== undefined) closeSync(devnull);
  wireStdio(child, s.stdin, s.stdout, s.stderr, child.stdio[4] as Readable | null);
  let diag = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (diag += d));
  const status = child.stdio[3] as NodeJS.ReadableStream | null;
  const setup = new Promise<{ ok: boolean; message: string }>((res) => {
    let buf = '';
    if (!status) return res({ ok: false, message: 'no status pipe' });
    status.setEncoding('utf8');
    status.on('data', (d: string) => (buf += d));
    status.on('end', () => res({ ok: buf.endsWith('OK'), message: buf.replace(/OK$/, '') }));
    status.on('error', () => res({ ok: false, message: buf }));
  });
  return {
    child,
    setup,
    kill(sig) {
      const pid = child.pid;
      if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      const init = descendant(pid, depth);
      try {
        if (init) process.kill(init, sig);
        else if (sig === 'SIGKILL') process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    },
    async after() {},
    diagnostics: () => diag,
    // util-linux 2.38 `unshare --fork` cannot re-raise SIGKILL on itself (signal(SIGKILL) fails):
    // it prints "sigprocmask unblock failed" and exits 1. That message means: the child was SIGKILLed.
    translate(code, sig) {
      if (code === 1 && /sigprocmask unblock failed/.test(diag)) return { code: null, sig: 'SIGKILL' };
      return { code, sig };
    },
  };
}
