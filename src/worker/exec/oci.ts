/**
 * The runc / crun runtime: writes an OCI runtime bundle (config.json per the runtime spec 1.0,
 * `root.path` pointing at the prepared rootfs) and runs `<runtime> run --bundle DIR ID` in the
 * foreground; the runtime forwards signals to the container's init and exits with its status.
 * `ociConfig(prepared)` is exported for the bench (same bundle for stagecraft and bare runc).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKER_CAPS, type Launched } from './builtin.js';
import { requireHostBinary } from './hostbin.js';
import type { Prepared } from './prepared.js';
import { inSlot, outSlot, wireStdio } from './stdio.js';

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
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
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
  const namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (s.network === 'none') namespaces.push({ type: 'network' });
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

export function launchOci(p: Prepared, runtime: 'runc' | 'crun'): Launched {
  const bin = requireHostBinary(runtime, runtime);
  const s = p.spec;
  const bundle = writeBundle(p);
  const stateRoot = join(p.etc.dir, 'state');
  const child = spawn(bin, ['--root', stateRoot, 'run', '--bundle', bundle, p.id], {
    stdio: [inSlot(s.stdin), outSlot(s.stdout), outSlot(s.stderr)],
    detached: !s.tty,
  });
  wireStdio(child, s.stdin, s.stdout, s.stderr);
  // runc reports its own failures (not the container's) on stderr with exit 1; we cannot tell them
  // apart from a container exiting 1 without parsing, so treat the start as ok.
  const setup = Promise.resolve({ ok: true, message: '' });
  return {
    child,
    setup,
    kill(sig) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (sig === 'SIGKILL') {
        spawnSync(bin, ['--root', stateRoot, 'kill', p.id, 'KILL'], { stdio: 'ignore' });
      } else if (child.pid) {
        try {
          process.kill(child.pid, sig);
        } catch {
          /* gone */
        }
      }
    },
    async after() {
      spawnSync(bin, ['--root', stateRoot, 'delete', '--force', p.id], { stdio: 'ignore' });
    },
  };
}
