/**
 * The runc / crun runtime: writes an OCI runtime bundle (config.json per the runtime spec 1.0,
 * `root.path` pointing at the prepared rootfs) and runs `<runtime> run --bundle DIR ID` in the
 * foreground; the runtime forwards signals to the container's init and exits with its status.
 * `ociConfig(prepared)` and `runtimeCommand` are exported for the bench (same bundle, same runtime
 * invocation for stagecraft and bare runc/crun). crun needs a cgroup view it accepts on hybrid hosts
 * (see crunRefusesCgroups).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKER_CAPS, type Launched } from './builtin.js';
import { requireHostBinary } from './hostbin.js';
import type { Prepared } from './prepared.js';
import { TIED_DEPTH, childrenOf, descendant, tiedToCaller } from './privatens.js';
import { inSlot, outSlot, wireStdio } from './stdio.js';
import { inUserNamespace } from '../../util/userns.js';

const rel = (p: Prepared, host: string) => {
  const r = host.slice(p.rootfs.length);
  return r === '' ? '/' : r;
};

export function ociConfig(p: Prepared): Record<string, unknown> {
  const s = p.spec;
  const caps = DOCKER_CAPS.map((c) => `CAP_${c.toUpperCase()}`);
  const mounts: Record<string, unknown>[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // rootless with the host network: sysfs needs a network namespace of our own, so bind the host's
    inUserNamespace() && s.network === 'host'
      ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: rel(p, p.paths.resolv), type: 'bind', source: p.etc.resolv, options: ['rbind', 'rprivate'] },
    { destination: rel(p, p.paths.hosts), type: 'bind', source: p.etc.hosts, options: ['rbind', 'rprivate'] },
  ];
  for (const m of p.mounts) {
    const destination = rel(p, m.host);
    if (m.mount.type === 'bind') {
      mounts.push({ destination, type: 'bind', source: m.mount.source, options: ['rbind', 'rprivate', m.mount.readonly ? 'ro' : 'rw'] });
    } else {
      const options = ['nosuid', 'nodev', `mode=${(m.mount.mode ?? 0o1777).toString(8)}`];
      if (m.mount.size) options.push(`size=${m.mount.size}`);
      mounts.push({ destination, type: 'tmpfs', source: 'tmpfs', options });
    }
  }
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (s.network === 'none') namespaces.push({ type: 'network' });
  else if (p.netns) namespaces.push({ type: 'network', path: p.netns });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: !!s.tty && !!process.stdin.isTTY,
      user: { uid: p.user.uid, gid: p.user.gid, additionalGids: p.user.groups },
      args: s.args,
      env: p.env,
      cwd: p.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
    },
    root: { path: p.rootfs, readonly: !!s.readOnlyRoot },
    hostname: s.hostname ?? '',
    mounts,
    linux: {
      // relative: under the runtime's own cgroup (a memory limit on the caller stays in force), in
      // a parent of our own that reapCgroups sweeps. Rootless: none (the runtimes then make no
      // cgroup they cannot write, where a cgroupsPath would be an error)
      ...(inUserNamespace() ? {} : { cgroupsPath: `${CGROUP_PARENT}/${p.id}` }),
      namespaces,
      maskedPaths: ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** Writes `DIR/config.json` for `p` and returns DIR. */
export function writeBundle(p: Prepared, dir = join(p.etc.dir, 'bundle')): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(ociConfig(p), null, 2)}\n`);
  return dir;
}

const TMPFS_MAGIC = 0x01021994;

/** The cgroup (in every hierarchy, below the runtime's own) that holds one cgroup per OCI container. */
export const CGROUP_PARENT = 'stagecraft';
/** Container cgroups of older versions (no cgroupsPath: `ID` right below the runtime's cgroup). */
const LEGACY_CGROUP = /^(?:stagecraft|sc)-[0-9a-f]{12}$/;

/**
 * Where container cgroups can be: in every mounted hierarchy (v1 and v2), below its root and below
 * each cgroup this process is in (runc makes a relative cgroupsPath relative to its own cgroup,
 * crun to the root). Paths that do not exist are left out.
 */
function cgroupBases(): string[] {
  let mountinfo = '';
  let own = '';
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    own = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return [];
  }
  const mounts = mountinfo.split('\n').flatMap((l) => {
    const f = l.split(' ');
    const dash = f.indexOf('-');
    return dash > 0 && /^cgroup2?$/.test(f[dash + 1] ?? '') ? [f[4]!.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))] : [];
  });
  const paths = new Set(own.split('\n').filter(Boolean).map((l) => l.split(':').slice(2).join(':')));
  const out = new Set<string>();
  for (const m of mounts) for (const p of ['/', ...paths]) out.add(join(m, p));
  return [...out].filter((d) => existsSync(d));
}

/** The cgroup directories of OCI containers: those of container `id`, or all of them (with older versions' names). */
export function containerCgroups(id?: string): string[] {
  const out: string[] = [];
  for (const base of cgroupBases()) {
    const parent = join(base, CGROUP_PARENT);
    if (id) {
      if (existsSync(join(parent, id))) out.push(join(parent, id));
      continue;
    }
    for (const n of readdirOr(parent)) out.push(join(parent, n));
    for (const n of readdirOr(base)) if (LEGACY_CGROUP.test(n)) out.push(join(base, n));
  }
  return out.filter((d) => isDir(d));
}

function readdirOr(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Pids in cgroup `dir` and the cgroups below it. */
function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  try {
    pids.push(...readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number).filter((n) => n > 0));
  } catch {
    /* gone */
  }
  for (const n of readdirOr(dir)) if (isDir(join(dir, n))) pids.push(...cgroupPids(join(dir, n)));
  return pids;
}

/**
 * SIGKILLs every process in the cgroups of container `id`: reaches a container whose runtime was
 * killed with the caller (a service manager or CI job killing the process tree) and whose processes
 * were left running. True when any was found.
 */
export async function killContainerCgroup(id: string): Promise<boolean> {
  const dirs = containerCgroups(id);
  return killCgroupProcesses(dirs);
}

/** Pids in the cgroups of container `id` (empty without cgroups: rootless, builtin runtime). */
export function containerCgroupPids(id: string): number[] {
  return containerCgroups(id).flatMap(cgroupPids);
}

async function killCgroupProcesses(dirs: string[]): Promise<boolean> {
  let found = false;
  for (let round = 0; round < 50; round++) {
    const pids = dirs.flatMap(cgroupPids);
    if (!pids.length) break;
    found = true;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return found;
}

/**
 * Removes the cgroups of OCI containers that have no process left and are older than `minAgeMs`
 * (a runtime creates a container's cgroup a moment before it moves the container into it). runc
 * and crun remove a container's cgroups when the container exits, but not when they are killed
 * themselves; the kernel refuses to remove a cgroup that still has a process or a child, so a live
 * container's are never touched. With `id`: only that container's. Returns the directories removed.
 */
export function reapCgroups(opts: { id?: string; minAgeMs?: number } = {}): string[] {
  const minAgeMs = opts.minAgeMs ?? 10_000;
  const removed: string[] = [];
  const now = Date.now();
  const rmEmpty = (dir: string): boolean => {
    for (const n of readdirOr(dir)) if (isDir(join(dir, n))) rmEmpty(join(dir, n));
    try {
      rmdirSync(dir);
      return true;
    } catch {
      return false;
    }
  };
  for (const dir of containerCgroups(opts.id)) {
    // a live container may keep empty cgroups of its own below its cgroup: leave those to it
    if (cgroupPids(dir).length) continue;
    let age = 0;
    try {
      age = now - statSync(dir).ctimeMs;
    } catch {
      continue;
    }
    if (age >= minAgeMs && rmEmpty(dir)) removed.push(dir);
  }
  return removed;
}

/**
 * crun (1.8, Debian bookworm) refuses every container on a hybrid cgroup host (v1 controllers under
 * a tmpfs /sys/fs/cgroup, cgroup2 at /sys/fs/cgroup/unified) whose cgroup2 root still lists a
 * controller: "cgroups in hybrid mode not supported, drop all controllers from cgroupv2". The check
 * comes before the cgroup manager is chosen, so even --cgroup-manager=disabled fails; runc copes.
 * True exactly when crun would refuse.
 */
export function crunRefusesCgroups(): boolean {
  try {
    if (statfsSync('/sys/fs/cgroup').type !== TMPFS_MAGIC) return false;
    return readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

/**
 * argv for one runtime command. On a host crun refuses (above), crun runs in a private mount
 * namespace where /sys/fs/cgroup/unified is detached: it then sees a v1 (legacy) host and puts the
 * container in the v1 cgroups runc uses too (runc also joins a cgroup2 one). Every command (run,
 * kill, delete) goes through the same view so they agree on where the container's cgroups are.
 * `unshare` without --fork execs, so the pid we signal is the runtime's. Without `stateRoot`: the
 * runtime's default state directory (/run/runc, /run/crun).
 */
export function runtimeCommand(runtime: 'runc' | 'crun', stateRoot?: string): (...args: string[]) => [string, string[]] {
  const bin = requireHostBinary(runtime, runtime);
  const base = stateRoot ? ['--root', stateRoot] : [];
  if (runtime !== 'crun' || !crunRefusesCgroups()) return (...args) => [bin, [...base, ...args]];
  const unshare = requireHostBinary('unshare', 'util-linux');
  const sh = requireHostBinary('sh', 'a POSIX shell');
  // rootless (a user namespace): a mount of the host cannot be detached there, so an empty tmpfs
  // covers it (crun then sees the same v1 host, and in its rootless mode skips cgroups it cannot use)
  const hide = inUserNamespace() ? 'mount -n -t tmpfs -o ro stagecraft-hide /sys/fs/cgroup/unified' : 'umount -l /sys/fs/cgroup/unified';
  const script = `${hide} && exec "$0" "$@"`;
  return (...args) => [unshare, ['--mount', '--propagation', 'private', '--', sh, '-c', script, bin, ...base, ...args]];
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

export function launchOci(p: Prepared, runtime: 'runc' | 'crun'): Launched {
  const s = p.spec;
  // the next container start clears what a killed runtime left, as `runc delete` would
  reapCgroups();
  const bundle = writeBundle(p);
  const stateRoot = join(p.etc.dir, 'state');
  const cmd = runtimeCommand(runtime, stateRoot);
  const tied = !s.outlivesCaller;
  const [bin, args] = cmd('run', '--bundle', bundle, p.id);
  const argv = tied ? tiedToCaller([bin, ...args], { mountProc: true }) : [bin, ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: [inSlot(s.stdin), outSlot(s.stdout), outSlot(s.stderr)],
    detached: !s.tty,
  });
  wireStdio(child, s.stdin, s.stdout, s.stderr);
  // runc and crun report their own failures (not the container's) on stderr with exit 1; we cannot
  // tell them apart from a container exiting 1 without parsing, so treat the start as ok.
  const setup = Promise.resolve({ ok: true, message: '' });
  return {
    child,
    setup,
    kill(sig) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (tied && child.pid) {
        // the runtime's state holds pids of its own namespace: signal its children (the container's
        // init) by their host pids, once they run the container's command (a runtime's own init
        // stage would die of a SIGTERM the container ignores). SIGKILL before the container runs:
        // the tying init goes, and the runtime with it.
        const runtimePid = descendant(child.pid, TIED_DEPTH);
        const inits = (runtimePid === undefined ? [] : childrenOf(runtimePid)).filter((c) => !/^(runc|crun)/.test(commOf(c)));
        if (sig === 'SIGKILL' && !inits.length) inits.push(child.pid);
        for (const c of inits) {
          try {
            process.kill(c, sig);
          } catch {
            /* gone */
          }
        }
      } else if (sig === 'SIGKILL') {
        spawnSync(...cmd('kill', p.id, 'KILL'), { stdio: 'ignore' });
      } else if (child.pid) {
        // the runtime forwards signals to the container's init
        try {
          process.kill(child.pid, sig);
        } catch {
          /* gone */
        }
      }
    },
    async after() {
      // `run` removes its state when the container exits; only a runtime that died leaves one behind
      // (tied: its namespace, and every pid the state names, is gone with it)
      if (!tied && existsSync(join(stateRoot, p.id))) spawnSync(...cmd('delete', '--force', p.id), { stdio: 'ignore' });
    },
  };
}
