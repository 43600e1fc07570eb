/**
 * Rootless mode. In: a CLI invocation by an ordinary user. Out: the same invocation re-run as root
 * of a new user namespace (with its own mount namespace), as rootlesskit / `podman unshare` do, so
 * the rest of the engine (overlay mounts, chown to in-image owners, namespaces for RUN) works
 * unchanged and layers keep their in-image owners.
 *
 * The mapping: namespace uid 0 = the user, 1..N = the user's subordinate ranges from /etc/subuid
 * (gids likewise from /etc/subgid), written by the setuid helpers `newuidmap` / `newgidmap`
 * (Debian `uidmap`). Without ranges (or helpers) it falls back to a single-ID mapping (only uid/gid
 * 0, as `unshare -r`) with a one-line warning; a step that needs another ID then fails with an
 * error naming /etc/subuid (util/userns.ts). The kernel still sees the user's own IDs: the namespace
 * root has no power over files it does not own (a root-owned file stays unreadable).
 *
 * How: `setpriv --pdeathsig KILL -- unshare --user --mount --propagation private -- sh -c WAIT`,
 * where WAIT says "ready" on fd 3 and waits for "go" while this process writes the maps, then execs
 * `setpriv --pdeathsig KILL -- node CLI ARGS` (the exec as namespace root clears the first parent-
 * death signal, so it is armed again). The runtime dir (dev template, private tmpfs) moves to
 * $XDG_RUNTIME_DIR/stagecraft or /tmp/stagecraft-run-UID; the store is the user's
 * ($STAGECRAFT_ROOT, else $XDG_DATA_HOME/stagecraft, else ~/.local/share/stagecraft).
 */
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { findHostBinary } from './hostbin.js';
import { defaultNetwork } from './network.js';
import { PRIVATE_NS_MARK, exitCodeOf, selfArgv } from './privatens.js';
import { probeSnapshotter } from '../snapshot/index.js';
import { inUserNamespace, mappedCount } from '../../util/userns.js';

/** A subordinate ID range of /etc/subuid or /etc/subgid. */
export interface SubRange {
  start: number;
  count: number;
}

/** The ranges `file` gives the user (lines `NAME:START:COUNT` or `UID:START:COUNT`). */
export function subordinateRanges(file: string, name: string, id: number): SubRange[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: SubRange[] = [];
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (who === undefined || start === undefined || count === undefined) continue;
    if (who !== name && who !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isInteger(s) && Number.isInteger(c) && s >= 0 && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

/** The argument list newuidmap/newgidmap take: `0 OWN 1`, then each range at 1, 1+count, ... */
export function mapArgs(own: number, ranges: SubRange[]): string[] {
  const args = ['0', String(own), '1'];
  let next = 1;
  for (const r of ranges) {
    args.push(String(next), String(r.start), String(r.count));
    next += r.count;
  }
  return args;
}

/** Commands that never touch the store or the namespaces: no need to re-run them. */
const PURE_COMMANDS = new Set(['lint', 'parse', 'stages', 'help']);
/** Commands that make or run images: the single-mapping warning is shown for these. */
const WARN_COMMANDS = new Set(['build', 'run', 'create', 'start', 'load', 'pull', 'import', 'container', 'image', 'builder', 'buildx']);

/** The runtime dir of a rootless invocation: private to the user (checked), never /run/stagecraft. */
function userRunDir(uid: number): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  const dir = xdg ? join(xdg, 'stagecraft') : join(tmpdir(), `stagecraft-run-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new Error(`${dir} must be a directory owned by uid ${uid} with mode 0700`);
  }
  return dir;
}

/**
 * Re-runs this CLI invocation for a non-root user inside a user + mount namespace (see above).
 * `undefined`: go on in this process (root, already inside, STAGECRAFT_ROOTLESS=0, a pure command,
 * util-linux missing). Resolves with the exit code to use.
 */
export function runRootless(argv: string[]): Promise<number> | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() === 0) return undefined;
  if (process.env.STAGECRAFT_ROOTLESS === '0') return undefined;
  const cmd = argv.find((a) => !a.startsWith('-'));
  if (cmd === undefined || PURE_COMMANDS.has(cmd)) return undefined;
  const setpriv = findHostBinary('setpriv');
  const unshare = findHostBinary('unshare');
  const sh = findHostBinary('sh');
  const script = process.argv[1];
  if (!setpriv || !unshare || !sh || !script) return undefined;

  const uid = process.getuid();
  const gid = process.getgid!();
  let name = String(uid);
  try {
    name = userInfo().username;
  } catch {
    /* no passwd entry: match by uid */
  }
  const subuid = subordinateRanges('/etc/subuid', name, uid);
  const subgid = subordinateRanges('/etc/subgid', name, uid);
  const newuidmap = findHostBinary('newuidmap');
  const newgidmap = findHostBinary('newgidmap');
  let full = subuid.length > 0 && subgid.length > 0 && !!newuidmap && !!newgidmap;
  let why = !newuidmap || !newgidmap ? 'newuidmap/newgidmap not found (install uidmap)' : `no subordinate ID range for ${name} in /etc/subuid and /etc/subgid`;

  let runDir: string;
  try {
    runDir = process.env.STAGECRAFT_RUN_DIR ?? userRunDir(uid);
  } catch (e) {
    process.stderr.write(`stagecraft: rootless: ${(e as Error).message}\n`);
    return Promise.resolve(125);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, STAGECRAFT_RUN_DIR: runDir, STAGECRAFT_ROOTLESS_USER: name, [PRIVATE_NS_MARK]: '1' };
  const wait = 'echo ready >&3; read -r go <&3; [ "$go" = go ] || exit 125; exec 3<&-; exec "$@"';
  const child = spawn(
    setpriv,
    ['--pdeathsig', 'KILL', '--', unshare, '--user', '--mount', '--propagation', 'private', '--', sh, '-c', wait, 'stagecraft-userns',
      setpriv, '--pdeathsig', 'KILL', '--', ...selfArgv(script, argv)],
    { stdio: ['inherit', 'inherit', 'inherit', 'pipe'], env },
  );
  const ctl = child.stdio[3] as Socket | null;
  ctl?.setEncoding('utf8');
  let said = '';
  ctl?.on('data', (d: string) => {
    said += d;
    if (!said.includes('ready\n') || !child.pid) return;
    said = '';
    const pid = child.pid;
    if (full) {
      try {
        execFileSync(newuidmap!, [String(pid), ...mapArgs(uid, subuid)], { stdio: ['ignore', 'ignore', 'pipe'] });
        execFileSync(newgidmap!, [String(pid), ...mapArgs(gid, subgid)], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (e) {
        full = false;
        why = `newuidmap/newgidmap failed: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim().split('\n')[0]}`;
      }
    }
    if (!full) {
      try {
        // the single-ID mapping an unprivileged process may write itself (setgroups must be denied first)
        writeFileSync(`/proc/${pid}/setgroups`, 'deny');
        writeFileSync(`/proc/${pid}/gid_map`, `0 ${gid} 1\n`);
        writeFileSync(`/proc/${pid}/uid_map`, `0 ${uid} 1\n`);
      } catch (e) {
        process.stderr.write(`stagecraft: rootless: cannot map IDs into the user namespace: ${(e as Error).message}\n`);
        ctl.end('no\n');
        return;
      }
      if (cmd && WARN_COMMANDS.has(cmd)) {
        process.stderr.write(`stagecraft: warning: rootless with a single-ID mapping (${why}): steps that use another user or group will fail\n`);
      }
    }
    ctl.end('go\n');
  });
  ctl?.on('error', () => {});
  return exitCodeOf(child);
}

/**
 * What `system info` says about the namespaces, in docker info's `Key: value` layout: whether this
 * runs rootless, how many IDs are mapped, the snapshotter (probed with an empty mount in
 * `scratchDir`) and the network RUN steps get.
 */
export async function namespaceInfo(scratchDir: string): Promise<string[]> {
  const snapshotter = await probeSnapshotter(scratchDir);
  const userns = inUserNamespace();
  const user = process.env.STAGECRAFT_ROOTLESS_USER;
  const lines = [`Rootless: ${userns && user ? 'true' : 'false'}`];
  if (userns) {
    const single = mappedCount('uid') === 1;
    lines.push(` User Namespace: ${mappedCount('uid')} uids, ${mappedCount('gid')} gids mapped${single ? ' (single-ID mapping: no /etc/subuid, /etc/subgid ranges)' : ''}`);
    if (user) lines.push(` User: ${user}`);
  }
  lines.push(`Storage Driver: ${snapshotter}${userns && snapshotter === 'overlayfs' ? ' (userxattr)' : ''}`);
  const slirp = findHostBinary('slirp4netns') ? 'slirp4netns: a private network with user-mode NAT' : 'slirp4netns: not installed';
  lines.push(`Network: ${defaultNetwork()} (--network none: a private loopback; ${slirp})`);
  return lines;
}
