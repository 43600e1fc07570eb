/**
 * Container records on disk: `store.dirs.containers/<64-hex id>/` holds `config.json` (the record
 * below), `upper/` (the container's copy-on-write layer), `container.log` (Docker json-file lines:
 * {"log","stream","time"}) and, while running, the overlay mount's scratch dir. In: a Store. Out:
 * create / list / find / update / remove, with names unique under the `containers` lock.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, type Store } from '../store/index.js';
import { UserError } from '../util/errors.js';
import { containerCgroupPids, processAlive, type Mount, type NetworkMode } from '../worker/exec/index.js';
import { VALID_NAME, generateName } from './names.js';

export interface ContainerConfig {
  /** the image as the user named it (shown by ps) */
  image: string;
  imageId: string; // config digest
  manifestDigest: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  cwd: string;
  user: string;
  network: NetworkMode;
  hostname: string;
  mounts: Mount[];
  readOnly: boolean;
  tty: boolean;
  interactive: boolean;
  runtime: 'builtin' | 'runc' | 'crun';
  autoRemove: boolean;
  stopSignal?: string;
  /** the image's labels and `run --label`s (absent in records written before labels were kept) */
  labels?: Record<string, string>;
}

export interface ContainerState {
  status: 'created' | 'running' | 'exited';
  /** the supervising stagecraft process and the runtime process */
  supervisorPid?: number;
  pid?: number;
  /** start times (/proc/PID/stat) of those two: a reused pid is not mistaken for them */
  supervisorStart?: string;
  pidStart?: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
}

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  config: ContainerConfig;
  state: ContainerState;
}

export const containerDir = (store: Store, id: string) => join(store.dirs.containers, id);
export const upperDir = (store: Store, id: string) => join(containerDir(store, id), 'upper');
export const logPath = (store: Store, id: string) => join(containerDir(store, id), 'container.log');

async function readRecord(store: Store, id: string): Promise<ContainerRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(containerDir(store, id), 'config.json'), 'utf8')) as ContainerRecord;
  } catch {
    return undefined;
  }
}

/**
 * A record as seen now, derived from the processes: "running" while its supervisor or its runtime
 * process lives (a killed `run` leaves the container running, as docker does), or, with both killed,
 * while its cgroup holds a process; when all are gone without writing an exit status, exited (255).
 */
function live(r: ContainerRecord): ContainerRecord {
  if (!r.state) r = { ...r, state: { status: 'created' } };
  const s = r.state;
  if (s.status === 'running' && !processAlive(s.supervisorPid, s.supervisorStart) && !processAlive(s.pid, s.pidStart) && !containerCgroupPids(runtimeId(r.id)).length) {
    return { ...r, state: { ...r.state, status: 'exited', exitCode: r.state.exitCode ?? 255, finishedAt: r.state.finishedAt ?? r.state.startedAt } };
  }
  return r;
}

/** The id the runtime knows the container by (runc/crun state, cgroup name). */
export function runtimeId(id: string): string {
  return `stagecraft-${id.slice(0, 12)}`;
}

export async function listContainers(store: Store): Promise<ContainerRecord[]> {
  const ids = await readdir(store.dirs.containers).catch(() => [] as string[]);
  const out: ContainerRecord[] = [];
  for (const id of ids) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue;
    const r = await readRecord(store, id);
    if (r) out.push(live(r));
  }
  // newest first, like docker ps
  return out.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
}

/** By full name, full id, or unique id prefix (docker's lookup order). */
export async function findContainer(store: Store, ref: string): Promise<ContainerRecord | undefined> {
  const all = await listContainers(store);
  const name = ref.replace(/^\//, '');
  const exact = all.find((c) => c.id === ref) ?? all.find((c) => c.name === name);
  if (exact) return exact;
  if (/^[0-9a-f]+$/.test(ref)) {
    const m = all.filter((c) => c.id.startsWith(ref));
    if (m.length > 1) throw new UserError(`Multiple IDs found with provided prefix: ${ref}`);
    return m[0];
  }
  return undefined;
}

export async function requireContainer(store: Store, ref: string): Promise<ContainerRecord> {
  const c = await findContainer(store, ref);
  if (!c) throw new UserError(`No such container: ${ref}`);
  return c;
}

export async function saveRecord(store: Store, r: ContainerRecord): Promise<void> {
  await writeFileAtomic(join(containerDir(store, r.id), 'config.json'), `${JSON.stringify(r, null, 2)}\n`);
}

/** Creates the record and its dirs; the name is checked and reserved under the containers lock. */
export async function createRecord(store: Store, name: string | undefined, config: ContainerConfig): Promise<ContainerRecord> {
  if (name !== undefined && !VALID_NAME.test(name)) {
    throw new UserError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { exitCode: 125 });
  }
  return store.withLock('containers', async () => {
    const all = await listContainers(store);
    let n = name?.replace(/^\//, '');
    if (n !== undefined) {
      const clash = all.find((c) => c.name === n);
      if (clash) {
        throw new UserError(
          `Conflict. The container name "/${n}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`,
          { exitCode: 125 },
        );
      }
    } else {
      for (let i = 0; n === undefined || all.some((c) => c.name === n); i++) n = generateName(i > 5 ? i : 0);
    }
    const id = randomBytes(32).toString('hex');
    const rec: ContainerRecord = { id, name: n, created: new Date().toISOString(), config: { ...config, hostname: config.hostname || id.slice(0, 12) }, state: { status: 'created' } };
    await mkdir(upperDir(store, id), { recursive: true });
    await saveRecord(store, rec);
    return rec;
  });
}

/**
 * Only the supervising process writes a container's state (others read it), so an atomic rename
 * is enough: no cross-process lock (each costs a few process spawns).
 */
export async function updateState(store: Store, id: string, state: Partial<ContainerState>): Promise<ContainerRecord | undefined> {
  const r = await readRecord(store, id);
  if (!r) return undefined;
  r.state = { ...r.state, ...state };
  await saveRecord(store, r);
  return r;
}

/** Deletes the container's dir (record, upper, logs). The container must not be running. */
export async function removeRecord(store: Store, id: string): Promise<void> {
  const dir = containerDir(store, id);
  if (!existsSync(dir)) return;
  // rename first so a half-deleted container never shows up in ps
  const trash = join(store.dirs.tmp, `${process.pid}-rm-${id.slice(0, 12)}-${randomBytes(3).toString('hex')}`);
  const { rename } = await import('node:fs/promises');
  try {
    await rename(dir, trash);
  } catch {
    await rm(dir, { recursive: true, force: true });
    return;
  }
  await rm(trash, { recursive: true, force: true });
}
