/**
 * Running containers: `createContainer` (flags + image → record), `startAttached` (overlay of the
 * image's layer snapshots + the container's upper → executor, output streamed to the caller and to
 * the json-file log, state kept in the record, Ctrl-C/SIGTERM forwarded and a second Ctrl-C kills),
 * `removeContainer` (-f kills first), `pruneContainers`, `readLogs`. The executor is the one in
 * src/worker/exec (shared with the build engine's RUN).
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { ResolvedImage, Store } from '../store/index.js';
import type { ImageConfig, ImageManifest } from '../image/types.js';
import { detachMountsUnder } from '../store/index.js';
import { UserError } from '../util/errors.js';
import {
  childrenOf, containerCgroupPids, killContainerCgroup, openNetwork, processAlive, processStartTime, reapCgroups, startContainer, type OpenNetwork, type RunningContainer,
} from '../worker/exec/index.js';
import { mountOverlay, type Mounted } from '../worker/snapshot/index.js';
import {
  containerDir, createRecord, listContainers, logPath, removeRecord, requireContainer, runtimeId, updateState, upperDir,
  type ContainerConfig, type ContainerRecord,
} from './records.js';
import { combineCommand, mergeEnv, parseNetwork, parseRuntime, parseVolume, parseWorkdir } from './spec.js';
import { duBytes } from './usage.js';

export interface RunFlags {
  image: string;
  cmd: string[];
  name?: string;
  rm?: boolean;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  volume?: string[];
  network?: string;
  readOnly?: boolean;
  tty?: boolean;
  interactive?: boolean;
  runtime?: string;
  /** --label KEY[=VALUE] */
  label?: string[];
}

const err125 = (m: string) => new UserError(m, { exitCode: 125 });

/** Resolves the image and flags into a new container record (status "created"). */
export async function createContainer(store: Store, f: RunFlags): Promise<ContainerRecord> {
  const img = await store.resolveImage(f.image);
  if (!img) throw err125(`Unable to find image '${withLatest(f.image)}' locally`);
  const ic = img.config.config ?? {};
  const { entrypoint, cmd } = combineCommand(ic, f.entrypoint, f.cmd);
  if (entrypoint.length + cmd.length === 0) throw err125('No command specified');
  const network = parseNetwork(f.network);
  const config: ContainerConfig = {
    image: f.image,
    imageId: img.configDigest,
    manifestDigest: img.manifestDigest,
    entrypoint,
    cmd,
    env: mergeEnv(ic.Env, f.envFile ?? [], f.env ?? []),
    cwd: parseWorkdir(f.workdir, ic),
    user: f.user ?? ic.User ?? '',
    network,
    hostname: network === 'host' ? osHostname() : '',
    mounts: (f.volume ?? []).map(parseVolume),
    readOnly: !!f.readOnly,
    tty: !!f.tty,
    interactive: !!f.interactive,
    runtime: parseRuntime(f.runtime),
    autoRemove: !!f.rm,
    stopSignal: ic.StopSignal,
    labels: { ...(ic.Labels ?? {}), ...Object.fromEntries((f.label ?? []).map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, '']))) },
  };
  return createRecord(store, f.name, config);
}

export interface AttachIO {
  stdout: Writable;
  stderr: Writable;
  stdin?: Readable;
  /** Forward SIGINT/SIGTERM/SIGHUP/SIGQUIT of this process to the container; a 2nd SIGINT kills. */
  forwardSignals?: boolean;
}

/** Runs the container in the foreground; resolves with its exit code. */
export async function startAttached(store: Store, rec: ContainerRecord, io: AttachIO): Promise<number> {
  const cur = await requireContainer(store, rec.id);
  if (cur.state.status === 'running') throw err125(`container ${rec.name} is already running`);
  const img = await imageOf(store, rec);
  const lowers = await store.layerSnapshots(img);
  const c = rec.config;
  let mounted: Mounted | undefined;
  let running: RunningContainer | undefined;
  let net: OpenNetwork | undefined;
  const log = createWriteStream(logPath(store, rec.id), { flags: 'a' });
  const record = (stream: 'stdout' | 'stderr') => (b: Buffer) => {
    log.write(`${JSON.stringify({ log: b.toString('utf8'), stream, time: new Date().toISOString() })}\n`);
  };
  const useTty = c.tty && !!process.stdout.isTTY;
  const handlers: [NodeJS.Signals, () => void][] = [];
  try {
    // a supervisor that was killed left its overlay mounted
    detachMountsUnder(containerDir(store, rec.id));
    mounted = await mountOverlay(lowers, upperDir(store, rec.id), { scratchDir: containerDir(store, rec.id) });
    await updateState(store, rec.id, { status: 'running', supervisorPid: process.pid, supervisorStart: processStartTime(process.pid), startedAt: new Date().toISOString(), finishedAt: undefined, exitCode: undefined });
    const outRec = record('stdout');
    const errRec = record('stderr');
    net = await openNetwork(c.network, containerDir(store, rec.id));
    running = startContainer({
      id: runtimeId(rec.id),
      rootfs: mounted.root,
      args: [...c.entrypoint, ...c.cmd],
      env: withTerm(withHostname(c.env, c.hostname), c.tty),
      cwd: c.cwd,
      user: c.user,
      network: c.network,
      hostname: c.hostname,
      mounts: c.mounts,
      readOnlyRoot: c.readOnly,
      runtime: c.runtime,
      tty: useTty,
      stdin: useTty ? 'inherit' : c.interactive ? (io.stdin ?? process.stdin) : 'ignore',
      stdout: useTty ? 'inherit' : (b) => { io.stdout.write(b); outRec(b); },
      stderr: useTty ? 'inherit' : (b) => { io.stderr.write(b); errRec(b); },
      // docker: killing the client does not stop the container; stop / rm -f reach it by its pid
      outlivesCaller: true,
      scratchDir: containerDir(store, rec.id),
    }, net);
    await updateState(store, rec.id, { pid: running.pid, pidStart: processStartTime(running.pid) });
    if (io.forwardSignals) {
      let interrupts = 0;
      const r = running;
      const on = (sig: NodeJS.Signals) => () => {
        if (sig === 'SIGINT' && ++interrupts >= 2) {
          r.kill('SIGKILL');
          return;
        }
        // with a shared terminal, the tty already delivered SIGINT to the container
        if (!(useTty && sig === 'SIGINT')) r.kill(sig);
      };
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as NodeJS.Signals[]) {
        const h = on(sig);
        handlers.push([sig, h]);
        process.on(sig, h);
      }
    }
    const res = await running.wait();
    await updateState(store, rec.id, { status: 'exited', exitCode: res.exitCode, finishedAt: new Date().toISOString(), supervisorPid: undefined, pid: undefined });
    return res.exitCode;
  } catch (e) {
    await updateState(store, rec.id, { status: 'exited', exitCode: 125, finishedAt: new Date().toISOString(), supervisorPid: undefined, pid: undefined }).catch(() => {});
    throw e;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    await new Promise<void>((r) => log.end(r));
    await net?.close();
    if (mounted) await mounted.unmount().catch(() => {});
    if (c.autoRemove) await removeRecord(store, rec.id).catch(() => {});
  }
}

/**
 * The container's image by manifest digest: from the index, or straight from the blobs when it was
 * untagged/removed with `rmi -f` (the store keeps the blobs of images containers use).
 */
async function imageOf(store: Store, rec: ContainerRecord): Promise<ResolvedImage> {
  const c = rec.config;
  const byIndex = await store.resolveImage(c.imageId).catch(() => undefined);
  if (byIndex && byIndex.manifestDigest === c.manifestDigest) return byIndex;
  try {
    const manifest = await store.readJson<ImageManifest>(c.manifestDigest);
    const config = await store.readJson<ImageConfig>(manifest.config.digest);
    return { manifestDigest: c.manifestDigest, manifest, configDigest: manifest.config.digest, config, refs: [] };
  } catch {
    if (byIndex) return byIndex;
    throw err125(`the image of container ${rec.name} (${c.imageId.slice(7, 19)}) is gone`);
  }
}

/** `busybox` → `busybox:latest`, as docker words "Unable to find image"; digests and IDs as given. */
export function withLatest(ref: string): string {
  if (ref.includes('@') || /^[0-9a-f]{12,64}$/.test(ref)) return ref;
  return /:[^/]*$/.test(ref) ? ref : `${ref}:latest`;
}

/** docker sets TERM=xterm for -t containers that do not set TERM themselves */
function withTerm(env: string[], tty: boolean): string[] {
  return tty && !env.some((e) => e.startsWith('TERM=')) ? [...env, 'TERM=xterm'] : env;
}

function withHostname(env: string[], hostname: string): string[] {
  if (env.some((e) => e.startsWith('HOSTNAME='))) return env;
  return [...env.filter((e) => e.startsWith('PATH=')), `HOSTNAME=${hostname}`, ...env.filter((e) => !e.startsWith('PATH='))];
}

/** Sends a signal to a running container of another stagecraft process. */
export function signalContainer(rec: ContainerRecord, sig: NodeJS.Signals): void {
  if (rec.state.status !== 'running') return;
  // its runtime is gone (killed with the supervisor): every process left in its cgroup, as `runc kill --all`
  const pids = processAlive(rec.state.pid, rec.state.pidStart) ? childrenOf(rec.state.pid!) : containerCgroupPids(runtimeId(rec.id));
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      /* gone */
    }
  }
}

/** `rm [-f]`: refuses a running container unless forced (then SIGKILL and wait for its exit). */
export async function removeContainer(store: Store, ref: string, force: boolean): Promise<void> {
  let rec = await requireContainer(store, ref);
  if (rec.state.status === 'running') {
    if (!force) {
      throw isRunning(rec.name);
    }
    signalContainer(rec, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const cur = await listContainers(store).then((l) => l.find((c) => c.id === rec.id));
      if (!cur) return; // --rm container removed itself
      rec = cur;
      if (rec.state.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // wait for its supervisor to unmount (it owns the mount)
    while (processAlive(rec.state.supervisorPid, rec.state.supervisorStart) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
  // a container whose runtime was killed with its supervisor (a service manager or CI job ending the
  // process tree) looks exited, yet its processes run on in its cgroup: rm refuses, rm -f kills them
  if (containerCgroupPids(runtimeId(rec.id)).length) {
    if (!force) throw isRunning(rec.name);
    await killContainerCgroup(runtimeId(rec.id));
  }
  detachMountsUnder(containerDir(store, rec.id));
  reapCgroups({ id: runtimeId(rec.id), minAgeMs: 0 });
  await removeRecord(store, rec.id);
}

const isRunning = (name: string) =>
  new UserError(`cannot remove container "/${name}": container is running: stop the container before removing or force remove`);


/** Removes every stopped container; returns their ids and the bytes their uppers held. */
export async function pruneContainers(store: Store): Promise<{ ids: string[]; bytes: number }> {
  const ids: string[] = [];
  let bytes = 0;
  for (const c of await listContainers(store)) {
    if (c.state.status === 'running') continue;
    bytes += duBytes(upperDir(store, c.id));
    detachMountsUnder(containerDir(store, c.id));
    await removeRecord(store, c.id);
    ids.push(c.id);
  }
  // and the cgroups killed runtimes left (stopped containers' and those of records removed since)
  reapCgroups();
  return { ids, bytes };
}

/** The container's output as recorded, in order. */
export function readLogs(store: Store, rec: ContainerRecord): { stream: 'stdout' | 'stderr'; data: string }[] {
  let text = '';
  try {
    text = readFileSync(logPath(store, rec.id), 'utf8');
  } catch {
    return [];
  }
  const out: { stream: 'stdout' | 'stderr'; data: string }[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as { log: string; stream: 'stdout' | 'stderr' };
      out.push({ stream: e.stream, data: e.log });
    } catch {
      /* torn last line */
    }
  }
  return out;
}
