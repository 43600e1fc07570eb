/**
 * Sources: where a build reads files and bases from. In: a `from=` / `--from=` / FROM value, the
 * build's named contexts (`--build-context`), the plan's stages, the store and the registry. Out: a
 * `Source` — a content digest known up front (for cache keys) and `open()`, which mounts the files
 * read-only only when a step really runs — or, for FROM, a resolved image.
 *
 * ONE resolver for `from=`, used by FROM, COPY --from and every RUN --mount kind, as BuildKit's
 * dockerfile2llb: a named build context wins (it replaces a stage of the same name everywhere;
 * the planner does not build such a stage), then a stage (by index or name, defined before the
 * current one), else an image reference (itself matched against named contexts). Also the main
 * build context (COPY/ADD without --from, bind mounts without from=).
 */
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { digestOf } from './cachekey.js';
import type { CopyAction } from './dispatch.js';
import * as deps from './deps.js';
import { resolveStageRef, stageLabel } from '../plan/index.js';
import type { BuildOptions, NamedContext } from './options.js';
import type { ProgressSink } from './progress.js';
import { errMsg, type LayerRec, type WaitStage } from './results.js';
import type { SolverPlan } from './types.js';
import type { Platform } from '../image/types.js';

/** Where COPY/ADD or a mount reads from. */
export interface Source {
  /** content digest (cache-key input), known before anything is mounted */
  digest: string;
  /** the main build context or a named directory context: files become 0:0, .dockerignore applies */
  fromContext: boolean;
  ignore?: deps.PathMatcher;
  /** for attribution: the stage (name or index as written), image or named context */
  label?: string;
  open(): Promise<OpenedSource>;
}

export interface OpenedSource {
  root: string;
  release: () => Promise<void>;
}

/** What the sources need from the running build. */
export interface SourceHost {
  store: deps.Store;
  opts: BuildOptions;
  plan: SolverPlan;
  progress: ProgressSink;
  platform: Platform;
  contextDir: string;
  signal?: AbortSignal;
  /** the main build context, loaded on first use */
  context(): Promise<deps.BuildContext>;
  /** overlay-ready snapshot dirs of a layer list */
  materialize(layers: LayerRec[]): Promise<string[]>;
  /** an unmount that may finish off the critical path (awaited before snapshots move) */
  deferRelease(p: Promise<void>): void;
}

const noRelease = async (): Promise<void> => undefined;

/** What of a source a step reads: COPY's sources (with --exclude/--parents) or a mount's `source`. */
export interface Selection {
  sources: string[];
  exclude: string[];
  parents: boolean;
  /** a mount: a missing path is keyed as missing (the mount fails when it runs) instead of failing the key */
  missingOk?: boolean;
}

export class Sources {
  /** base images this build pulled (their FROM vertex shows as a download, not CACHED) */
  readonly pulled = new Set<string>();
  private resolving = new Map<string, Promise<deps.ResolvedImage>>();
  /** named directory contexts, loaded once per build (own .dockerignore, metadata cache) */
  private dirs = new Map<string, deps.ContextDir>();

  constructor(private readonly h: SourceHost) {}

  /** The named context for a name or image reference (`busybox` matches `docker.io/library/busybox:latest`). */
  namedContext(ref: string): NamedContext | undefined {
    const bc = this.h.opts.buildContexts;
    if (bc[ref]) return bc[ref];
    let full: string;
    try {
      full = deps.fullRef(ref);
    } catch {
      return undefined;
    }
    for (const [k, v] of Object.entries(bc)) {
      try {
        if (deps.fullRef(k) === full) return v;
      } catch {
        /* not a reference */
      }
    }
    return undefined;
  }

  /** A FROM / COPY --from image: a named context, the store, else a pull. Memoized per build. */
  image(ref: string): Promise<deps.ResolvedImage> {
    let p = this.resolving.get(ref);
    if (!p) {
      p = this.loadImage(ref);
      this.resolving.set(ref, p);
    }
    return p;
  }

  /** How the FROM vertex names a base: docker's image store shows a stored base without its digest, a pulled one with it. */
  fromRef(ref: string, img: deps.ResolvedImage): string {
    const nc = this.namedContext(ref);
    const real = nc?.kind === 'image' ? nc.ref : ref;
    if (nc?.kind === 'oci') return `oci-layout://${nc.path}@${img.manifestDigest}`;
    if (this.pulled.has(ref)) {
      const r = `${deps.fullRef(real)}@${img.manifestDigest}`;
      this.pulled.add(r);
      return r;
    }
    return deps.fullRef(real);
  }

  private async loadImage(ref: string): Promise<deps.ResolvedImage> {
    const { store, progress, opts } = this.h;
    const nc = this.namedContext(ref);
    if (nc?.kind === 'dir') throw new UserError(`FROM ${ref}: a local directory build context cannot be used as a base image`);
    if (nc?.kind === 'oci') {
      const v = progress.start(`[internal] load metadata for oci-layout://${nc.path}`);
      const img = await deps.loadOciLayout(store, nc.path, nc.ref);
      v.done();
      return img;
    }
    const real = nc?.kind === 'image' ? nc.ref : ref;
    let full: string;
    try {
      full = deps.fullRef(real);
    } catch (e) {
      throw new UserError(`failed to parse stage name "${real}": ${errMsg(e)}`);
    }
    const v = progress.start(`[internal] load metadata for ${full}`);
    let img: deps.ResolvedImage | undefined;
    if (!opts.pull) img = await store.resolveImage(real);
    if (!img) {
      try {
        img = await deps.pull(store, real, this.h.platform);
        this.pulled.add(ref);
      } catch (e) {
        const msg = `${real}: failed to resolve source metadata for ${full}: ${errMsg(e)}`;
        v.fail(msg);
        throw new UserError(`ERROR: failed to solve: ${msg}`);
      }
    }
    v.done();
    return img;
  }

  /**
   * THE `from=` resolver: a named context (it replaces a stage of the same name), a stage of this
   * build (waited for), or an image. `stage` is the stage that reads it.
   */
  async from(from: string, stage: number, wait: WaitStage, sel?: Selection): Promise<Source> {
    const numeric = /^[0-9]+$/.test(from);
    const named = numeric ? undefined : this.h.opts.buildContexts[from];
    if (named?.kind === 'dir') return this.namedDir(from, named.path, sel);
    const idx = named ? undefined : resolveStageRef(this.h.plan.stages, from, stage);
    if (idx !== undefined) {
      const r = await wait(idx);
      return this.layers(r.layers, r.key, numeric ? from : stageLabel(this.h.plan.stages, idx), r.snapshots);
    }
    const img = named?.kind === 'oci' ? await deps.loadOciLayout(this.h.store, named.path, named.ref) : await this.image(named?.kind === 'image' ? named.ref : from);
    const ls = img.manifest.layers.map((d, j) => ({ descriptor: d, diffId: img.config.rootfs.diff_ids[j] as string }));
    return this.layers(ls, img.manifestDigest, from);
  }

  /**
   * A named directory context (`--build-context NAME=DIR`) through THE context hasher, as the
   * main context: its own .dockerignore applies, only what the step reads enters the digest, and
   * file digests come from the directory's metadata cache in the store.
   */
  private async namedDir(name: string, path: string, sel: Selection = { sources: ['/'], exclude: [], parents: false }): Promise<Source> {
    let ctx = this.dirs.get(name);
    if (!ctx) {
      ctx = deps.loadNamedContext(name, path);
      this.dirs.set(name, ctx);
    }
    const hash = deps.contextDigest(this.h.store, ctx, sel.sources, { exclude: sel.exclude, parents: sel.parents });
    const digest = digestOf({ dir: await (sel.missingOk ? hash.catch(() => digestOf({ missing: sel.sources })) : hash) });
    const root = ctx.dir;
    return { digest, fromContext: true, ignore: ctx.ignore, label: name, open: async () => ({ root, release: noRelease }) };
  }

  /** Saves the metadata caches of the named contexts this build hashed (the engine saves the main one's). */
  saveContextCaches(): void {
    for (const c of this.dirs.values()) c.meta?.save();
  }

  /** COPY/ADD sources without --from: context files (keyed by content), URLs, inline heredocs. */
  async copy(action: CopyAction, stage: number, wait: WaitStage): Promise<Source> {
    if (action.from !== undefined) {
      const sources = action.srcs.length ? action.srcs : ['/'];
      return this.from(action.from, stage, wait, { sources, exclude: action.exclude, parents: action.parents });
    }
    const onlyInline = action.srcs.length === 0;
    const urls = action.srcs.filter((x) => /^https?:\/\//.test(x));
    const local = action.srcs.filter((x) => !/^https?:\/\//.test(x));
    // a URL's key is its content: the --checksum when given, else the body fetched now (like
    // BuildKit's HTTP source, a changed remote file re-runs the step)
    const urlKeys: string[] = [];
    for (const u of urls) {
      if (action.checksum) urlKeys.push(`${u}@${action.checksum}`);
      else {
        try {
          const res = await fetch(u, { signal: this.h.signal });
          const body = Buffer.from(await res.arrayBuffer());
          urlKeys.push(`${u}@${res.status}@${createHash('sha256').update(body).digest('hex')}`);
        } catch {
          urlKeys.push(`${u}@unreachable@${Date.now()}@${Math.random()}`);
        }
      }
    }
    let digest = onlyInline ? digestOf('inline') : digestOf({ urls: urlKeys });
    let ignore: deps.PathMatcher | undefined;
    if (local.length) {
      const ctx = await this.h.context();
      ignore = ctx.ignore;
      digest = digestOf({ urls: urlKeys, local: await deps.contextDigest(this.h.store, ctx, local, { exclude: action.exclude, parents: action.parents }) });
    }
    const root = this.h.contextDir;
    return { digest, fromContext: true, ignore, open: async () => ({ root, release: noRelease }) };
  }

  /**
   * A bind or cache mount's source: `from=` through `from()`, else the main context. For the
   * context only the `source` subtree enters the digest.
   */
  async mount(from: string | undefined, source: string | undefined, stage: number, wait: WaitStage): Promise<Source> {
    if (from !== undefined) return this.from(from, stage, wait, { sources: [source === undefined || source === '' ? '/' : source], exclude: [], parents: false, missingOk: true });
    const ctx = await this.h.context();
    const src = source === undefined || source === '' ? '/' : source;
    const digest = await deps.contextDigest(this.h.store, ctx, [src], { exclude: [], parents: false }).catch(() => digestOf({ missing: src }));
    const root = this.h.contextDir;
    return { digest, fromContext: true, ignore: ctx.ignore, open: async () => ({ root, release: noRelease }) };
  }

  /** A layer list (a stage's or an image's) as a source, mounted read-only on demand. */
  private layers(layers: LayerRec[], key: string, label: string, snapshots?: string[]): Source {
    const h = this.h;
    return {
      digest: key,
      fromContext: false,
      label,
      open: async () => {
        const lowers = snapshots ?? (await h.materialize(layers));
        const work = await h.store.tmpDir('src-');
        const empty = join(work, 'empty');
        await mkdir(empty);
        let m: deps.Mounted;
        try {
          m = await deps.mountOverlay(lowers.length ? lowers : [empty], join(work, 'upper'), join(work, 'scratch'));
        } catch (e) {
          await rm(work, { recursive: true, force: true }).catch(() => undefined);
          throw e;
        }
        let released = false;
        return {
          root: m.root,
          release: async () => {
            if (released) return;
            released = true;
            // The copy is done; unmounting (a umount process) can run while the next step starts.
            // The engine waits for it before any upper dir that this mount uses is moved.
            const p = (async () => {
              await m.unmount();
              await rm(work, { recursive: true, force: true }).catch(() => undefined);
            })();
            p.catch(() => undefined);
            h.deferRelease(p);
          },
        };
      },
    };
  }
}
