/**
 * The mount manager: a RUN's typed `--mount`s → what the executor mounts. In: the resolved mounts
 * (dockerfile/'s `ResolvedRunMount`), the build's secrets and ssh agents, the sources (`from=`).
 * Out: executor mounts, extra environment (secret env=), and a release that undoes everything.
 *
 * - secret: a 0400 file (mode/uid/gid of the mount) in the step's private dir, bound read-only;
 * - cache: a directory in the store that outlives the build, one per cache: as BuildKit, the id
 *   plus the mount's base — its `from=`/`source` (the cache is seeded from it when made) or its
 *   uid/gid/mode (applied to the new dir) — so mounts that differ there are separate caches;
 *   sharing=locked serialises users, private gives a concurrent user a throwaway dir;
 * - tmpfs; bind: from the context or `from=`, read-only, or rw with writes discarded (an
 *   overlay with a throwaway upper); ssh: a fresh socket forwarding to the agent.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmod, chown, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { ResolvedRunMount } from '../dockerfile/index.js';
import { UserError } from '../util/errors.js';
import { resolveInRoot } from '../util/fspath.js';
import * as deps from './deps.js';
import type { WaitStage } from './results.js';
import type { Source, Sources } from './sources.js';
import type { SshAgents } from './ssh.js';

const run = promisify(execFile);

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    return prev.then(() => release);
  }
}

export interface PreparedMounts {
  mounts: deps.Mount[];
  /** K=V entries to add to the process environment (secret env=) */
  env: string[];
  release(): Promise<void>;
}

export interface MountHost {
  store: deps.Store;
  sources: Sources;
  secrets: Map<string, Buffer>;
  ssh?: SshAgents;
}

/** The source a bind or cache mount reads, for the step's cache key and for `prepare`. */
export function mountSource(m: ResolvedRunMount): boolean {
  return m.type === 'bind' || (m.type === 'cache' && m.from !== undefined);
}

export class MountManager {
  private cacheLocks = new Map<string, Mutex>();
  private cacheBusy = new Set<string>();
  private seeding = new Map<string, Promise<void>>();

  constructor(private readonly h: MountHost) {}

  /**
   * The directory of a cache mount: keyed by its id alone when it has no base (no from=, source,
   * uid, gid or mode), else by the id and that base, as BuildKit keys a cache by id and base ref.
   */
  cacheDir(m: ResolvedRunMount, src?: Source): string {
    const id = m.id ?? m.target ?? '';
    const hasBase = src !== undefined || m.source !== undefined || m.uid !== undefined || m.gid !== undefined || m.mode !== undefined;
    const key = hasBase ? JSON.stringify({ id, from: src?.digest, source: m.source, uid: m.uid, gid: m.gid, mode: m.mode }) : id;
    return join(this.h.store.dirs.cache, createHash('sha256').update(key).digest('hex').slice(0, 32));
  }

  /**
   * Sets up every mount of a RUN in `work` (the step's private dir). `sources[j]` is the resolved
   * source of mount j when it has one (see `mountSource`).
   */
  async prepare(mounts: ResolvedRunMount[], sources: Array<Source | undefined>, work: string): Promise<PreparedMounts> {
    const out: deps.Mount[] = [];
    const env: string[] = [];
    const releases: Array<() => Promise<void> | void> = [];
    let secretDir: string | undefined; // on the builder's private tmpfs: never on disk
    releases.push(() => (secretDir ? rm(secretDir, { recursive: true, force: true }).catch(() => undefined) : undefined));
    const release = async (): Promise<void> => {
      for (const r of releases.reverse()) await r();
    };
    try {
      for (const [j, m] of mounts.entries()) {
        const target = m.target as string;
        switch (m.type) {
          case 'secret': {
            const data = this.h.secrets.get(m.id as string);
            if (data === undefined) {
              if (m.required) throw new UserError(`secret ${m.id}: not found`);
              break;
            }
            if (m.target) {
              secretDir ??= deps.secretScratch();
              const f = join(secretDir, createHash('sha256').update(m.id as string).digest('hex').slice(0, 16));
              await writeFile(f, data, { mode: m.mode ?? 0o400 });
              await chmod(f, m.mode ?? 0o400);
              await chown(f, m.uid ?? 0, m.gid ?? 0);
              out.push({ type: 'bind', source: f, target, readonly: true });
            }
            if (m.env) env.push(`${m.env}=${data.toString()}`);
            break;
          }
          case 'cache': {
            const src = sources[j];
            let dir = this.cacheDir(m, src);
            if (m.sharing === 'locked') {
              let mu = this.cacheLocks.get(dir);
              if (!mu) this.cacheLocks.set(dir, (mu = new Mutex()));
              releases.push(await mu.lock());
            } else if (m.sharing === 'private') {
              if (this.cacheBusy.has(dir)) dir = join(work, `cache-private-${j}`);
              else {
                this.cacheBusy.add(dir);
                const d = dir;
                releases.push(() => void this.cacheBusy.delete(d));
              }
            }
            await this.createCache(dir, m, src, releases);
            out.push({ type: 'bind', source: dir, target, readonly: m.readonly });
            break;
          }
          case 'tmpfs':
            out.push({ type: 'tmpfs', target, size: m.size === undefined ? undefined : Number(m.size) });
            break;
          case 'bind': {
            const src = sources[j] as Source;
            const opened = await src.open();
            releases.push(opened.release);
            const host = await visiblePath(src, opened.root, m.source, join(work, `bind-view-${j}`));
            if (m.readonly) {
              out.push({ type: 'bind', source: host, target, readonly: true });
            } else if (statSync(host).isDirectory()) {
              // rw bind: writes are discarded (an overlay with a throwaway upper)
              const ov = await deps.mountOverlay([host], join(work, `bind-upper-${j}`), join(work, `bind-scratch-${j}`));
              releases.push(() => ov.unmount());
              out.push({ type: 'bind', source: ov.root, target, readonly: false });
            } else {
              const copy = join(work, `bind-file-${j}`);
              await writeFile(copy, await readFile(host));
              out.push({ type: 'bind', source: copy, target, readonly: false });
            }
            break;
          }
          case 'ssh': {
            // BuildKit: a fresh socket per mount forwarding to the agent; an ID not given to
            // --ssh fails a required mount and skips an optional one
            const id = m.id ?? 'default';
            const ssh = this.h.ssh as SshAgents;
            const sock = await ssh.mount(id, { uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o600 });
            if (!sock) {
              if (m.required) throw new UserError(ssh.missingMessage(id));
              break;
            }
            releases.push(sock.close);
            out.push({ type: 'bind', source: sock.path, target, readonly: false });
            break;
          }
        }
      }
    } catch (e) {
      await release();
      throw e;
    }
    return { mounts: out, env, release };
  }

  /** Makes a cache dir once: seeded from its from=/source, or empty with the mount's uid/gid/mode. */
  private async createCache(dir: string, m: ResolvedRunMount, src: Source | undefined, releases: Array<() => Promise<void> | void>): Promise<void> {
    if (existsSync(dir)) return;
    let p = this.seeding.get(dir);
    if (!p) {
      p = (async () => {
        const tmp = `${dir}.new-${process.pid}`;
        await rm(tmp, { recursive: true, force: true });
        if (src) {
          const opened = await src.open();
          try {
            const from = await visiblePath(src, opened.root, m.source, tmp);
            if (from !== tmp) await run('cp', ['-a', '--', from, tmp]);
          } finally {
            await opened.release();
          }
        } else {
          await mkdir(tmp, { recursive: true });
          await chmod(tmp, m.mode ?? 0o755);
          await chown(tmp, m.uid ?? 0, m.gid ?? 0);
        }
        await mkdir(this.h.store.dirs.cache, { recursive: true });
        await rename(tmp, dir);
      })();
      this.seeding.set(dir, p);
      releases.push(() => void this.seeding.delete(dir));
    }
    await p;
  }
}

/**
 * The host path a bind or cache-seed mount of `source` in an opened source reads. A context (the
 * main one or a named directory) is seen as BuildKit sees it, as the client sent it: paths its
 * .dockerignore excludes do not exist. When there are such patterns, a directory is copied into
 * `view` without them (the common case, no .dockerignore, binds the directory itself).
 */
async function visiblePath(src: Source, root: string, source: string | undefined, view: string): Promise<string> {
  const host = resolveInRoot(root, source ?? '/', true);
  const missing = () => new UserError(`failed to compute cache key: "${source ?? '/'}" not found`);
  if (!existsSync(host)) throw missing();
  const ignore = src.fromContext ? src.ignore : undefined;
  if (!ignore || ignore.patterns.length === 0) return host;
  const rel = relative(root, host).split(sep).join('/');
  if (rel.startsWith('..')) return host; // not below the context's root: nothing of it is ignored
  if (rel !== '' && ignore.ignores(rel)) throw missing();
  if (!statSync(host).isDirectory()) return host;
  await mkdir(view, { recursive: true });
  await deps.copyFiles({ srcRoot: root, sources: [rel === '' ? '.' : rel], destRoot: view, dest: '/', ignore });
  return view;
}
