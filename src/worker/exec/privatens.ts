/**
 * Crash safety for a process that mounts and spawns (the builder). In: the CLI's argv. Out: the same
 * command re-run inside a private mount namespace that dies with it, and a tmpfs that exists only in
 * that namespace for files that must never reach a disk (secrets, a RUN's hosts/resolv.conf/fstab).
 *
 * `build` as root runs as `setpriv --pdeathsig KILL -- unshare --mount --propagation private --
 * node ...` when started as `node stagecraft.js` (`runInPrivateMountNs`: the child is tied to the
 * waiting parent by PR_SET_PDEATHSIG). The installed bin's sh half execs `unshare ... -- node`
 * itself (scripts/bundle.mjs), so there is one node and no parent to tie it to. Every overlay,
 * bind and tmpfs the builder makes is then invisible to the host and is gone when the last process
 * of the namespace is; a SIGKILL at any point leaves no mount behind. RUN processes die with the
 * builder too (see the `tied` chain in builtin.ts). Trade-off: one extra `node` start (~40 ms) when
 * the CLI is run as `node dist/stagecraft.js` rather than through its bin.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { findHostBinary } from './hostbin.js';

/** Set in the environment of a re-run that is in its own mount namespace (read once, then dropped). */
export const PRIVATE_NS_MARK = 'STAGECRAFT_PRIVATE_NS';
const MARK = PRIVATE_NS_MARK;

/** Root-only directory for host-wide runtime files (dev template, the private tmpfs mount point). */
export function runDir(): string {
  return process.env.STAGECRAFT_RUN_DIR ?? '/run/stagecraft';
}

const nsOf = (pid: number | 'self'): string | undefined => {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
};

let privateNs: boolean | undefined;
/** True in a process started by `runInPrivateMountNs` (or the bin): its mounts die with it. */
export function inPrivateMountNs(): boolean {
  if (privateNs === undefined) {
    const marked = process.env[MARK] === '1';
    // children (git, ssh-agent, tools) do not inherit the mark
    delete process.env[MARK];
    const self = nsOf('self');
    privateNs = marked && self !== undefined && self !== nsOf(process.ppid);
  }
  return privateNs;
}

/**
 * Re-runs this CLI invocation in a private mount namespace tied to this process, when that is
 * possible and not already the case (root, util-linux present). Resolves with the exit code to use;
 * a child killed by a signal is re-raised here. `undefined`: go on in this process.
 */
export function runInPrivateMountNs(argv: string[]): Promise<number> | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  if (inPrivateMountNs() || process.env.STAGECRAFT_NO_PRIVATE_NS === '1') return undefined;
  const setpriv = findHostBinary('setpriv');
  const unshare = findHostBinary('unshare');
  const script = process.argv[1];
  if (!setpriv || !unshare || !script) return undefined;
  const child = spawn(
    setpriv,
    ['--pdeathsig', 'KILL', '--', unshare, '--mount', '--propagation', 'private', '--', ...selfArgv(script, argv)],
    { stdio: 'inherit', env: { ...process.env, [MARK]: '1' } },
  );
  return exitCodeOf(child);
}

/** argv that starts this CLI again (same node, same node options) with `argv`. */
export function selfArgv(script: string, argv: string[]): string[] {
  return [process.execPath, ...process.execArgv, '--', script, ...argv];
}

/**
 * Waits for a re-run of this CLI: forwards the terminal's signals to it while it runs, resolves
 * with its exit code (125 when it could not start); a re-run killed by a signal is re-raised here.
 */
export function exitCodeOf(child: ChildProcess): Promise<number> {
  const forward = (sig: NodeJS.Signals) => () => {
    try {
      child.kill(sig);
    } catch {
      /* gone */
    }
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  const handlers = sigs.map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return new Promise<number>((res) => {
    child.on('error', () => res(125));
    child.on('exit', (code, sig) => {
      for (const [s, h] of handlers) process.off(s, h);
      if (sig) {
        process.kill(process.pid, sig);
        res(128);
      } else res(code ?? 125);
    });
  });
}

let mounted: string | undefined;
/**
 * A fresh directory that is never on a disk and is gone when this process is: on a tmpfs mounted in
 * this process's private mount namespace, else under the runtime dir (/run: a tmpfs on every
 * systemd host). Used for secrets and per-container scratch files.
 */
export function privateScratch(prefix: string): string {
  return mkdtempSync(join(privateScratchBase(), prefix));
}

function privateScratchBase(): string {
  if (mounted) return mounted;
  const dir = join(runDir(), inPrivateMountNs() ? 'private' : 'exec');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (inPrivateMountNs()) {
    const mount = findHostBinary('mount');
    if (mount) {
      try {
        // -n: nothing in /run/mount/utab for a mount nobody outside this namespace sees
        execFileSync(mount, ['-n', '-t', 'tmpfs', '-o', 'mode=0700,nosuid,nodev', 'stagecraft-private', dir], { stdio: 'ignore' });
      } catch {
        /* /run is a tmpfs already on most hosts: go on */
      }
    }
  }
  mounted = dir;
  return dir;
}

/**
 * argv that runs `argv` tied to this process: `setpriv --pdeathsig KILL` arms the runtime process,
 * and it runs `argv` under a small root init (sh) in a fresh PID namespace, so a SIGKILL of this
 * process kills that init and with it every process below it, nested namespaces included. (The
 * kernel drops a parent-death signal when credentials change, so it cannot be set on a container
 * process that switches to a USER.) With `mountProc` the namespace gets its own /proc (runc and
 * crun read their children's pids there).
 */
export function tiedToCaller(argv: string[], opts: { mountProc?: boolean } = {}): string[] {
  const setpriv = findHostBinary('setpriv');
  const unshare = findHostBinary('unshare');
  const sh = findHostBinary('sh');
  if (!setpriv || !unshare || !sh) return argv;
  // fd 5 keeps stdin for the job (sh gives a background job /dev/null); the init closes its own
  // copies of the status pipes (3, 4) so only the container side holds them
  const init = 'exec 5<&0; "$@" <&5 5<&- & exec 5<&- 3>&- 4>&-; wait $!; exit $?';
  const ns = ['--pid', '--fork', '--kill-child', ...(opts.mountProc ? ['--mount', '--mount-proc', '--propagation', 'private'] : [])];
  return [setpriv, '--pdeathsig', 'KILL', '--', unshare, ...ns, '--', sh, '-c', init, 'stagecraft-init', ...argv];
}

/** Levels of processes `tiedToCaller` puts above `argv` (setpriv→unshare is one process, then sh). */
export const TIED_DEPTH = 2;

/** The children of `pid`, from every thread (a Go runtime like runc forks from whichever thread). */
export function childrenOf(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      /* thread gone */
    }
  }
  return out;
}

/** The first process `depth` levels below `pid` (0: pid itself). */
export function descendant(pid: number, depth: number): number | undefined {
  let cur: number | undefined = pid;
  for (let i = 0; i < depth && cur !== undefined; i++) cur = childrenOf(cur)[0];
  return cur;
}

/** The start time of `pid` (clock ticks since boot, /proc/PID/stat field 22): with the pid, it names one process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z') return undefined; // a zombie has finished
    return f[19];
  } catch {
    return undefined;
  }
}

/** True while the process `pid` that started at `start` (when given) runs; a reused pid is not it. */
export function processAlive(pid: number | undefined, start?: string): boolean {
  if (!pid || pid <= 0) return false;
  const now = processStartTime(pid);
  return now !== undefined && (start === undefined || now === start);
}
