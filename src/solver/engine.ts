/**
 * The build engine: `build(opts)` turns a Dockerfile and a context into an image in the store.
 * In: BuildOptions (context dir, Dockerfile, target, build args, secrets, outputs...). Out: the
 * image (OCI manifest + config with history and per-layer attribution) stored under the -t names,
 * the requested exports, and a BuildResult. Progress is reported like BuildKit's.
 *
 * How a stage runs: its state starts from the base (image config, scratch, or the parent stage's
 * final state), ONBUILD triggers of the base run first, then each step is dispatched (pure, see
 * dispatch.ts). Steps that make a layer (RUN, COPY, ADD, WORKDIR) get a content-addressed cache
 * key; on a hit the recorded layer is reused (printed CACHED), on a miss the step runs on an
 * overlay mount of the stage's snapshots with a fresh upper dir: the upper dir IS the layer (written
 * as a tarball, then adopted as the next snapshot with store.commitSnapshot). Stages run as a DAG:
 * only those the target needs, independent ones concurrently. A failure aborts the other stages,
 * prints BuildKit's error report and leaves the store without a half-made image.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile, chmod, chown, lstat } from 'node:fs/promises';
import { basename, join, resolve as resolvePath } from 'node:path';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from '../image/types.js';
import { MediaType, hostPlatform } from '../image/types.js';
import { humanSize } from '../image/human.js';
import { UserError, isUserError } from '../util/errors.js';
import { resolveInRoot } from '../util/fspath.js';
import { BuildCache, type CacheRecord } from './cache.js';
import { baseKey, digestOf, stepKey } from './cachekey.js';
import {
  countCommands,
  dispatchStep,
  fromName,
  goQuote,
  initStageState,
  type CopyAction,
  type DispatchContext,
  type RunAction,
  type StageState,
  type WorkdirAction,
} from './dispatch.js';
import * as deps from './deps.js';
import { formatPlatform, fromChain, makeLexer, mountFrom, neededStages, parseTrigger, planFromText, positioned, resolveStageRef, stageLabel } from './frontend.js';
import type { BuildOptions, NamedContext } from './options.js';
import { createProgress, formatFailure, type ProgressSink, type VertexHandle } from './progress.js';
import { runDag } from './scheduler.js';
import type { SolverPlan, Step } from './types.js';
import { withoutAttribution, type Attribution } from './attribution.js';
import { exportImage } from './export.js';
import { cacheLocation, type ExportedRecord, type ImportedCache } from './cacheio.js';
import { exportCacheTo, exportVertexName, openImports } from './cachetransfer.js';
import { SshAgents } from './ssh.js';

export interface LayerRec {
  /**
   * valid once `ready` resolved (layers are written in the background, see runStage); NO_BLOB
   * (digest '') for a layer of a stage that is not exported, until ensureBlobs makes one
   */
  descriptor: Descriptor;
  /** the step's cache key, to record the blob when one is made later */
  cacheKey?: string;
  diffId: string;
  attribution?: Attribution;
  /**
   * when this build's step made the layer (RFC 3339; kept in its cache record, so a cached step
   * keeps its time): the history `created` of the step, as BuildKit's `buildkit/createdat`
   */
  created?: string;
  /** set while the layer blob is still being written */
  ready?: Promise<void>;
}

/** Descriptor of a layer that has a diffID and a snapshot but no blob (yet). */
export const NO_BLOB: Descriptor = { mediaType: '', digest: '', size: 0 };

/** Waits until every layer of the list has its blob, descriptor and diffID. */
export async function layersReady(layers: LayerRec[]): Promise<void> {
  for (const l of layers) if (l.ready) await l.ready;
}

export interface StageResult {
  index: number;
  state: StageState;
  layers: LayerRec[];
  key: string;
  /** overlay lowers for `layers`, when already known */
  snapshots?: string[];
}

export interface BuildResult {
  /** sha256 of the config (docker's image ID) */
  imageId: string;
  manifestDigest: string;
  config: ImageConfig;
  manifest: ImageManifest;
  tags: string[];
  /** vertices that were cache hits / executed */
  cached: number;
  executed: number;
}

/** A step failed: carries what BuildKit prints in its error report. */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly vertexName: string,
    readonly logs: string[],
    readonly line?: number,
    readonly endLine?: number,
  ) {
    super(message);
  }
}

function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs a build. Throws UserError (one line) on failure after printing BuildKit's report. */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  const out = opts.progressStream ?? process.stderr;
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      await progress.close();
    }
  };
  // Ctrl-C / SIGTERM: abort the running steps so every mount is undone before exiting
  const ac = new AbortController();
  if (opts.signal) opts.signal.addEventListener('abort', () => ac.abort(opts.signal?.reason), { once: true });
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) process.exit(130); // a second signal: give up at once
    ac.abort(new UserError(`ERROR: failed to solve: canceled (${sig})`, { exitCode: 130 }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // --cache-from dirs are read before anything is solved; an unusable one is a warning
  const imports = await openImports(opts.cacheFrom ?? [], (line) => out.write(`${line}\n`));
  const progress = createProgress(opts.progress, out);
  const builder = new Builder({ ...opts, signal: ac.signal }, progress, imports);
  try {
    const r = await builder.run();
    await close();
    return r;
  } catch (e) {
    await close();
    if (ac.signal.aborted && isUserError(ac.signal.reason)) throw ac.signal.reason;
    if (e instanceof StepFailure) {
      out.write(formatFailure({
        vertexName: e.vertexName,
        logs: e.logs,
        dockerfileName: e.line !== undefined ? dockerfileDisplayName(opts) : '',
        dockerfileText: e.line !== undefined ? builder.dockerfileText : undefined,
        line: e.line,
        endLine: e.endLine,
      }));
      throw new UserError(`ERROR: failed to solve: ${e.message}`);
    }
    if (isUserError(e)) throw e;
    if (e instanceof Error && (e as NodeJS.ErrnoException).code) throw new UserError(`ERROR: ${e.message}`, { cause: e });
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await builder.close();
  }
}

function dockerfileDisplayName(opts: BuildOptions): string {
  if (!opts.dockerfile || opts.dockerfile === '-') return 'Dockerfile';
  return basename(opts.dockerfile);
}

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

class Builder {
  private store!: deps.Store;
  private cache!: BuildCache;
  private plan!: SolverPlan;
  private platform: Platform = hostPlatform();
  private baseImages = new Map<string, deps.ResolvedImage>();
  private context?: deps.BuildContext;
  private contextDir: string;
  private secrets = new Map<string, Buffer>();
  /** the --ssh agents; their private ssh-agents live until close() */
  private ssh?: SshAgents;
  private cacheLocks = new Map<string, Mutex>();
  private cacheBusy = new Set<string>();
  private cachedCount = 0;
  private fromShown = new Set<string>();
  /** executed steps whose upper dirs are adopted as snapshots at the end of the build */
  private pendingCommits: Array<{ rec: LayerRec; prefix: LayerRec[]; upper: string; work: string }> = [];
  /**
   * Stages whose layers end up in the result: the target and its FROM-stage ancestors. Only their
   * layers are compressed into blobs while the build runs; the others get a diffID and a snapshot
   * (like BuildKit, which never compresses what it does not export), which is all that COPY --from
   * and the cache need. A later build that exports such a layer makes the blob from the snapshot.
   */
  private exported = new Set<number>();
  /** unmounts of COPY --from sources, done off the critical path; awaited before snapshots move */
  private pendingReleases: Array<Promise<void>> = [];
  private pulled = new Set<string>();
  private executedCount = 0;
  /** every step's layer list once the step is done (its own layer last), for --cache-to */
  private stepLayers: Array<{ stage: number; layers: LayerRec[] }> = [];
  private signal: AbortSignal | undefined;
  /** the Dockerfile's text once read (for the error report's snippet) */
  dockerfileText?: string;

  constructor(
    private opts: BuildOptions,
    private progress: ProgressSink,
    private imports: ImportedCache[] = [],
  ) {
    this.contextDir = resolvePath(opts.contextDir);
    this.signal = opts.signal;
  }

  async run(): Promise<BuildResult> {
    const opts = this.opts;
    if (!existsSync(this.contextDir) || !statSync(this.contextDir).isDirectory()) {
      throw new UserError(`unable to prepare context: path "${opts.contextDir}" not found`);
    }
    for (const t of opts.tags) {
      try {
        deps.fullRef(t);
      } catch (e) {
        throw new UserError(`invalid tag ${JSON.stringify(t)}: ${errMsg(e)}`);
      }
    }
    // the --ssh agents, resolved before anything runs like buildx does before solving
    this.ssh = await SshAgents.open(opts.ssh ?? []);
    // 1. the Dockerfile
    const dfName = dockerfileDisplayName(opts);
    const v1 = this.progress.start(`[internal] load build definition from ${dfName}`);
    let text: string;
    if (opts.dockerfile === '-') {
      text = opts.dockerfileText ?? '';
    } else {
      const p = opts.dockerfile ? resolvePath(opts.dockerfile) : join(this.contextDir, 'Dockerfile');
      try {
        text = await readFile(p, 'utf8');
      } catch {
        v1.fail(`failed to read dockerfile: open ${p}: no such file or directory`);
        throw new UserError(`ERROR: failed to solve: failed to read dockerfile: open ${p}: no such file or directory`);
      }
    }
    v1.status(`transferring dockerfile: ${humanSize(Buffer.byteLength(text))} done`);
    this.dockerfileText = text;
    let plan: SolverPlan;
    try {
      plan = planFromText(text, {
        file: dfName,
        target: opts.target,
        buildArgs: opts.buildArgs,
        platform: this.platform,
        buildPlatform: hostPlatform(),
      }).plan;
    } catch (e) {
      v1.fail(errMsg(e));
      throw e;
    }
    this.plan = plan;
    v1.done();

    this.store = await deps.openStore(opts.storeRoot);
    this.cache = new BuildCache(this.store.root);
    const needed = neededStages(plan);

    // 2. base images (load metadata), in parallel
    const refs = new Set<string>();
    for (const i of needed) {
      const s = plan.stages[i];
      if (s.base.kind === 'image') refs.add(s.base.ref);
    }
    await Promise.all([...refs].map((r) => this.resolveBase(r)));

    // 3. .dockerignore and the build context (only when a needed stage reads it)
    const v2 = this.progress.start('[internal] load .dockerignore');
    const ignoreText = this.readDockerignore();
    v2.status(`transferring context: ${humanSize(Math.max(2, Buffer.byteLength(ignoreText ?? '')))} done`);
    v2.done();
    if (needed.some((i) => this.usesContext(i))) {
      const v3 = this.progress.start('[internal] load build context');
      this.context = await deps.loadBuildContext(this.contextDir, ignoreText ?? '');
      v3.status(`transferring context: ${humanSize(this.context.size)} done`);
      v3.done();
    }
    await this.loadSecrets();

    // 4. the stages
    // a stage starts once its FROM stage is done; a COPY --from / mount from= waits for its
    // source stage at that step only, so the steps before it run meanwhile (as in BuildKit)
    let results: Map<number, StageResult>;
    let ok = false;
    let layersStart = performance.now();
    try {
      for (const s of fromChain(plan, plan.target)) this.exported.add(s);
      results = await runDag<StageResult>(
        needed,
        (i) => (plan.stages[i].base.kind === 'stage' ? [(plan.stages[i].base as { index: number }).index] : []),
        (i, wait, signal) => this.runStage(i, wait, signal),
        this.signal,
      );
      const final0 = results.get(plan.target) as StageResult;
      layersStart = performance.now();
      await layersReady(final0.layers);
      ok = true;
    } finally {
      // after a failure the original error wins over one from finishing the layers
      const fe = await this.finishLayers().then(() => undefined, (e: unknown) => e ?? new Error('layer write failed'));
      if (ok && fe) throw fe;
    }
    const layersSeconds = (performance.now() - layersStart) / 1000;
    const final = { ...(results.get(plan.target) as StageResult), snapshots: undefined };
    await this.ensureBlobs(final.layers);

    // 5. export
    const r = await exportImage({
      store: this.store,
      opts,
      final,
      progress: this.progress,
      platform: this.platform,
      layersSeconds,
      materialize: (layers) => this.materialize(layers),
    });
    await this.exportCaches(needed);
    return { ...r, cached: this.cachedCount, executed: this.executedCount };
  }

  /**
   * --cache-to: the records of the steps this build used (mode=min: the exported stages' steps,
   * mode=max: every stage's), with their layer blobs; layers that only had a snapshot get one now.
   */
  private async exportCaches(needed: number[]): Promise<void> {
    const specs = this.opts.cacheTo ?? [];
    if (!specs.length) return;
    for (const spec of specs) {
      const stages = new Set(spec.mode === 'max' ? needed : this.exported);
      const v = this.progress.start(exportVertexName(spec));
      try {
        const records = new Map<string, ExportedRecord>();
        for (const s of this.stepLayers) {
          if (!stages.has(s.stage)) continue;
          await this.ensureBlobs(s.layers);
          const l = s.layers[s.layers.length - 1] as LayerRec;
          if (l.cacheKey) records.set(l.cacheKey, { descriptor: { mediaType: l.descriptor.mediaType, digest: l.descriptor.digest, size: l.descriptor.size }, diffId: l.diffId, created: l.created });
        }
        await exportCacheTo(this.store, spec, records, (line) => v.status(line));
        v.done();
      } catch (e) {
        v.fail(errMsg(e));
        throw new UserError(`ERROR: failed to solve: error writing cache to ${cacheLocation(spec)}: ${errMsg(e)}`, { cause: e });
      }
    }
  }

  /**
   * A --cache-from record for `key`: its blob is copied (verified) into the store and the record
   * saved locally. A bad blob is a warning and a miss.
   */
  private async importedRecord(key: string): Promise<CacheRecord | undefined> {
    for (const imp of this.imports) {
      if (!imp.has(key)) continue;
      try {
        const r = await imp.fetch(this.store, key);
        if (!r) continue;
        const rec: CacheRecord = { descriptor: r.descriptor, diffId: r.diffId, created: r.created ?? new Date().toISOString() };
        await this.cache.put(key, rec);
        return rec;
      } catch (e) {
        (this.opts.progressStream ?? process.stderr).write(`WARNING: ${imp.label}: ignoring record ${key}: ${errMsg(e)}\n`);
      }
    }
    return undefined;
  }

  /** Ends what outlives the steps (the private ssh-agents). */
  async close(): Promise<void> {
    await this.ssh?.close();
  }

  private readDockerignore(): string | undefined {
    const candidates: string[] = [];
    if (this.opts.dockerfile && this.opts.dockerfile !== '-') candidates.push(`${resolvePath(this.opts.dockerfile)}.dockerignore`);
    candidates.push(join(this.contextDir, '.dockerignore'));
    for (const c of candidates) {
      try {
        return readFileSync(c, 'utf8');
      } catch {
        /* next */
      }
    }
    return undefined;
  }

  private usesContext(i: number): boolean {
    const s = this.plan.stages[i];
    for (const st of s.steps) {
      if ((st.kind === 'copy' || st.kind === 'add') && st.from === undefined && st.srcs.length > 0) return true;
      if (st.kind === 'run' && st.mounts.some((m) => mountFrom(m) === undefined && (/(^|,)\s*type=bind/i.test(m) || !/(^|,)\s*type=/i.test(m)))) return true;
    }
    return false;
  }

  private async loadSecrets(): Promise<void> {
    for (const s of this.opts.secrets) {
      if (s.src !== undefined) {
        try {
          this.secrets.set(s.id, await readFile(resolvePath(s.src)));
        } catch {
          throw new UserError(`failed to read secret ${s.id}: open ${s.src}: no such file or directory`);
        }
      } else if (s.env !== undefined) {
        const v = process.env[s.env];
        if (v === undefined) throw new UserError(`secret ${s.id}: environment variable ${s.env} is not set`);
        this.secrets.set(s.id, Buffer.from(v));
      }
    }
  }

  /** Resolves a FROM / COPY --from image: named contexts, the store, else a pull. Memoized. */
  private resolving = new Map<string, Promise<deps.ResolvedImage>>();
  private resolveBase(ref: string): Promise<deps.ResolvedImage> {
    let p = this.resolving.get(ref);
    if (!p) {
      p = this.doResolveBase(ref);
      this.resolving.set(ref, p);
    }
    return p;
  }

  private namedContextFor(ref: string): NamedContext | undefined {
    const bc = this.opts.buildContexts;
    if (bc[ref]) return bc[ref];
    const full = deps.fullRef(ref);
    for (const [k, v] of Object.entries(bc)) {
      try {
        if (deps.fullRef(k) === full) return v;
      } catch {
        /* not a reference */
      }
    }
    return undefined;
  }

  private async doResolveBase(ref: string): Promise<deps.ResolvedImage> {
    const nc = this.namedContextFor(ref);
    if (nc?.kind === 'dir') throw new UserError(`FROM ${ref}: a local directory build context cannot be used as a base image`);
    if (nc?.kind === 'oci') {
      const v = this.progress.start(`[internal] load metadata for oci-layout://${nc.path}`);
      const img = await deps.loadOciLayout(this.store, nc.path, nc.ref);
      v.done();
      this.baseImages.set(ref, img);
      return img;
    }
    const real = nc?.kind === 'image' ? nc.ref : ref;
    let full: string;
    try {
      full = deps.fullRef(real);
    } catch (e) {
      throw new UserError(`failed to parse stage name "${real}": ${errMsg(e)}`);
    }
    const v = this.progress.start(`[internal] load metadata for ${full}`);
    let img: deps.ResolvedImage | undefined;
    if (!this.opts.pull) img = await this.store.resolveImage(real);
    if (!img) {
      try {
        img = await deps.pull(this.store, real, this.platform);
        this.pulled.add(ref);
      } catch (e) {
        const msg = `${real}: failed to resolve source metadata for ${full}: ${errMsg(e)}`;
        v.fail(msg);
        throw new UserError(`ERROR: failed to solve: ${msg}`);
      }
    }
    v.done();
    this.baseImages.set(ref, img);
    return img;
  }

  /**
   * End of the stages (success or failure): waits for the background layer writes, adopts each
   * executed step's upper dir as the store snapshot of its chainID, removes the step dirs.
   * Nothing mounts them any more at this point.
   */
  private async finishLayers(): Promise<void> {
    const errors: unknown[] = [];
    for (const r of await Promise.allSettled(this.pendingReleases.splice(0))) if (r.status === 'rejected') errors.push(r.reason);
    for (const p of this.pendingCommits) {
      try {
        await p.rec.ready;
        await layersReady(p.prefix);
        await this.store.commitSnapshot(deps.chainId(p.prefix.map((l) => l.diffId)), p.upper);
      } catch (e) {
        errors.push(e);
      }
      await rm(p.work, { recursive: true, force: true }).catch(() => undefined);
    }
    this.pendingCommits = [];
    if (errors.length) throw errors[0];
  }

  /**
   * A cache record can be used when its layer, and every earlier layer that has no blob, can be
   * had: from a blob in the store, or from a snapshot already committed to the store.
   */
  private async usableRecord(rec: CacheRecord, layers: LayerRec[]): Promise<boolean> {
    if (rec.descriptor && this.store.hasBlob(rec.descriptor.digest) && layers.every((l) => l.descriptor.digest !== '')) return true;
    await layersReady(layers);
    const all = [...layers, { descriptor: rec.descriptor ?? NO_BLOB, diffId: rec.diffId }];
    for (let j = 0; j < all.length; j++) {
      const l = all[j] as LayerRec;
      if (l.descriptor.digest !== '' && this.store.hasBlob(l.descriptor.digest)) continue;
      if (!existsSync(this.snapshotOf(all, j))) return false;
    }
    return true;
  }

  /** The store snapshot dir of `layers[0..j]` (it may not exist). */
  private snapshotOf(layers: Array<{ diffId: string }>, j: number): string {
    return this.store.snapshotPath(deps.chainId(layers.slice(0, j + 1).map((x) => x.diffId)));
  }

  /** Makes the blobs of exported layers that only had a snapshot (built earlier as non-exported). */
  private async ensureBlobs(layers: LayerRec[]): Promise<void> {
    for (let j = 0; j < layers.length; j++) {
      const l = layers[j] as LayerRec;
      if (l.descriptor.digest !== '' && this.store.hasBlob(l.descriptor.digest)) continue;
      const dir = this.snapshotOf(layers, j);
      const wl = await deps.writeLayer(this.store, dir);
      if (wl.diffId !== l.diffId) throw new Error(`snapshot ${dir} does not match its layer (${wl.diffId} != ${l.diffId})`);
      l.descriptor = wl.descriptor;
      if (l.cacheKey) await this.cache.put(l.cacheKey, { descriptor: wl.descriptor, diffId: wl.diffId, created: l.created ?? new Date().toISOString() });
    }
  }

  /** Overlay-ready snapshot dirs for a layer list (unpacked on demand, cached by chainID). */
  async materialize(layers: LayerRec[]): Promise<string[]> {
    await layersReady(layers);
    return deps.layerSnapshots(this.store, layers);
  }

  private async runStage(i: number, wait: (n: number) => Promise<StageResult>, signal: AbortSignal): Promise<StageResult> {
    const plan = this.plan;
    const s = plan.stages[i];
    const stageName = plan.stages.length === 1 ? '' : s.name ?? `stage-${i}`;
    const attrStage = s.name ?? `stage-${i}`;
    const platStr = formatPlatform(this.platform);
    let st: StageState;
    let layers: LayerRec[];
    let key: string;
    let snapshots: string[] | undefined;
    let fromRef: string | undefined;
    if (s.base.kind === 'stage') {
      const p = await wait(s.base.index);
      st = initStageState({ kind: 'stage', state: p.state }, this.platform, stageName);
      layers = [...p.layers];
      key = p.key;
      snapshots = p.snapshots;
    } else if (s.base.kind === 'scratch') {
      st = initStageState({ kind: 'scratch' }, this.platform, stageName);
      layers = [];
      key = baseKey({ kind: 'scratch' }, platStr);
      snapshots = [];
    } else {
      const img = await this.resolveBase(s.base.ref);
      st = initStageState({ kind: 'image', config: img.config }, this.platform, stageName);
      // base layers are "the base image" for this build: an attribution they carry from the build
      // that made them (a stagecraft-built base) is dropped
      layers = img.manifest.layers.map((d, j) => ({ descriptor: withoutAttribution(d), diffId: img.config.rootfs.diff_ids[j] as string }));
      key = baseKey({ kind: 'image', manifestDigest: img.manifestDigest }, platStr);
      const nc = this.namedContextFor(s.base.ref);
      const real = nc?.kind === 'image' ? nc.ref : s.base.ref;
      // docker's image store shows a stored base without its digest; a pulled one with it
      fromRef = nc?.kind === 'oci' ? `oci-layout://${nc.path}@${img.manifestDigest}` : this.pulled.has(s.base.ref) ? `${deps.fullRef(real)}@${img.manifestDigest}` : deps.fullRef(real);
      if (this.pulled.has(s.base.ref)) this.pulled.add(fromRef);
    }

    // ONBUILD triggers of the base run first (and are not inherited further)
    const triggers = st.config.config?.OnBuild ?? [];
    if (st.config.config && st.config.config.OnBuild !== undefined) delete st.config.config.OnBuild;
    const trigSteps: Step[] = [];
    for (const t of triggers) {
      try {
        trigSteps.push(parseTrigger(t, s.pos, plan.dockerfile.name));
      } catch (e) {
        throw positioned(e, plan.dockerfile.name, s.pos.line);
      }
    }
    for (const t of trigSteps) {
      if (t.kind === 'copy' && t.from !== undefined) {
        const d = resolveStageRef(plan, t.from, i);
        if (d !== undefined && !this.plan.stages.some((_, j) => j === d)) throw new UserError(`ONBUILD COPY --from=${t.from}: no such stage`);
      }
    }
    const steps = [...trigSteps, ...s.steps];
    st.cmdTotal = countCommands(steps, s.base.kind === 'image');
    if (fromRef !== undefined) {
      // one vertex per base image (BuildKit dedups equal sources); a stored image is CACHED
      const name = fromName(st, fromRef);
      if (!this.fromShown.has(fromRef)) {
        this.fromShown.add(fromRef);
        if (this.pulled.has(fromRef)) this.progress.start(name).done();
        else this.progress.cached(name);
      }
    }

    const lexer = makeLexer(plan.escapeChar);
    const dctx: DispatchContext = {
      lexer,
      globalArgs: plan.globalArgs,
      buildArgValues: this.opts.buildArgs,
      platform: this.platform,
    };

    for (const step of steps) {
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      let r;
      try {
        r = dispatchStep(st, step, dctx);
      } catch (e) {
        throw positioned(e, plan.dockerfile.name, step.line);
      }
      if (!r.action) continue;
      const action = r.action;
      const name = r.name ?? step.original;
      const attribution: Attribution = { stage: attrStage, stageIndex: i, line: step.line, instruction: step.original };
      if (step.onbuild) attribution.instruction = `ONBUILD ${step.original}`;

      // inputs of the cache key
      const inputs: Record<string, string | undefined> = {};
      let copySource: CopySource | undefined;
      try {
        if (action.type === 'copy') {
          copySource = await this.copySource(action, i, wait);
          inputs.source = copySource.digest;
          attribution.paths = [...action.srcs, ...action.inline.map((x) => `<<${x.name}`)];
          if (copySource.label !== undefined) attribution.from = copySource.label;
        } else if (action.type === 'run') {
          for (const [j, m] of action.mounts.entries()) {
            if (m.type === 'bind') inputs[`mount${j}`] = await this.bindSourceDigest(m.from, m.source ?? '/', i, wait);
            if (m.type === 'cache' && m.from !== undefined) inputs[`mount${j}`] = await this.bindSourceDigest(m.from, m.source ?? '/', i, wait);
          }
        }
      } catch (e) {
        // like BuildKit: the step's vertex fails ("failed to compute cache key: ...") and the
        // report shows the Dockerfile snippet
        if (!isUserError(e) || signal.aborted) throw positioned(e, plan.dockerfile.name, step.line);
        const v = this.progress.start(name);
        v.fail(e.message);
        throw new StepFailure(e.message, name, [], step.line, step.endLine);
      }
      const k = stepKey(key, action, inputs);
      let rec = this.opts.noCache ? undefined : await this.cache.get(k);
      let hit = !!rec && (await this.usableRecord(rec, layers));
      if (!hit && !this.opts.noCache && this.imports.length) {
        rec = await this.importedRecord(k);
        hit = !!rec && (await this.usableRecord(rec, layers));
      }
      if (hit && rec) {
        this.progress.cached(name);
        this.cachedCount++;
        layers = [...layers, { descriptor: rec.descriptor ?? NO_BLOB, diffId: rec.diffId, attribution, cacheKey: k, created: rec.created }];
        this.stepLayers.push({ stage: i, layers });
        key = k;
        snapshots = undefined;
        continue;
      }
      const v = this.progress.start(name);
      this.executedCount++;
      try {
        const lowers = snapshots ?? (await this.materialize(layers));
        const work = await this.store.tmpDir('step-');
        const upper = join(work, 'upper');
        const empty = join(work, 'empty');
        let kept = false;
        try {
          await mkdir(upper);
          await mkdir(empty);
          const m = await deps.mountOverlay(lowers.length ? lowers : [empty], upper, join(work, 'scratch'));
          try {
            if (action.type === 'run') await this.execRun(action, m.root, v, step, i, wait, signal, work);
            else if (action.type === 'copy') {
              const src = await (copySource as CopySource).open();
              try {
                await this.execCopy(action, m.root, src.root, copySource as CopySource, signal);
              } finally {
                await src.release();
              }
            } else await this.execWorkdir(action, m.root);
          } finally {
            await m.unmount();
          }
          // The upper dir is the layer. It becomes a lower of the next steps right away; its blob
          // is written in the background (BuildKit also compresses at export time), and it is
          // adopted as a store snapshot at the end of the build, when no mount uses it any more.
          const created = new Date().toISOString();
          const rec: LayerRec = { descriptor: { mediaType: '', digest: '', size: 0 }, diffId: '', attribution, created };
          const prefix = [...layers, rec];
          rec.cacheKey = k;
          const exported = this.exported.has(i);
          rec.ready = (async () => {
            if (!exported) {
              const m = await deps.measureLayerDir(upper);
              rec.descriptor = NO_BLOB;
              rec.diffId = m.diffId;
              await this.cache.put(k, { diffId: m.diffId, created });
              return;
            }
            const wl = await deps.writeLayer(this.store, upper);
            rec.descriptor = wl.descriptor;
            rec.diffId = wl.diffId;
            await this.cache.put(k, { descriptor: wl.descriptor, diffId: wl.diffId, created });
          })();
          rec.ready.catch(() => undefined);
          this.pendingCommits.push({ rec, prefix, upper, work });
          kept = true;
          layers = prefix;
          this.stepLayers.push({ stage: i, layers });
          snapshots = [...lowers, upper];
          key = k;
        } finally {
          if (!kept) await rm(work, { recursive: true, force: true }).catch(() => undefined);
        }
        v.done();
      } catch (e) {
        if (e instanceof StepFailure) {
          v.fail(e.message);
          throw new StepFailure(e.message, name, v.lastLogs(10), step.line, step.endLine);
        }
        if (signal.aborted && !(e instanceof UserError)) {
          v.fail('canceled');
          throw e;
        }
        const msg = errMsg(e);
        v.fail(msg);
        throw new StepFailure(msg, name, v.lastLogs(10), step.line, step.endLine);
      }
    }
    return { index: i, state: st, layers, key, snapshots };
  }

  // ---- COPY / ADD sources ----------------------------------------------------------------

  private async copySource(action: CopyAction, stage: number, wait: (n: number) => Promise<StageResult>): Promise<CopySource> {
    if (action.from === undefined) {
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
            const res = await fetch(u, { signal: this.signal });
            const body = Buffer.from(await res.arrayBuffer());
            urlKeys.push(`${u}@${res.status}@${createHash('sha256').update(body).digest('hex')}`);
          } catch {
            urlKeys.push(`${u}@unreachable@${Date.now()}@${Math.random()}`);
          }
        }
      }
      let digest = onlyInline ? digestOf('inline') : digestOf({ urls: urlKeys });
      if (local.length) {
        if (!this.context) this.context = await deps.loadBuildContext(this.contextDir, this.readDockerignore() ?? '');
        digest = digestOf({ urls: urlKeys, local: await this.context.digest(local, { exclude: action.exclude, parents: action.parents }) });
      }
      const root = this.contextDir;
      return { digest, fromContext: true, ignore: this.context?.ignore, open: async () => ({ root, release: noRelease }) };
    }
    return this.fromSource(action.from, stage, wait);
  }

  /** A `--from=` / `from=` source: a stage, a named build context, or an image. Mounted read-only. */
  private async fromSource(from: string, stage: number, wait: (n: number) => Promise<StageResult>): Promise<CopySource> {
    const named = this.opts.buildContexts[from];
    const idx = named && !/^[0-9]+$/.test(from) && !this.plan.stages.some((s) => s.name === from.toLowerCase()) ? undefined : resolveStageRef(this.plan, from, stage);
    if (idx !== undefined) {
      const r = await wait(idx);
      return this.mountLayers(r.layers, r.key, /^[0-9]+$/.test(from) ? from : stageLabel(this.plan, idx), r.snapshots);
    }
    if (named?.kind === 'dir') {
      const dir = resolvePath(named.path);
      return { digest: digestOf({ dir: await deps.dirDigest(dir) }), fromContext: true, label: from, open: async () => ({ root: dir, release: noRelease }) };
    }
    const img = named?.kind === 'oci' ? await deps.loadOciLayout(this.store, named.path, named.ref) : await this.resolveBase(named?.kind === 'image' ? named.ref : from);
    const ls = img.manifest.layers.map((d, j) => ({ descriptor: d, diffId: img.config.rootfs.diff_ids[j] as string }));
    return this.mountLayers(ls, img.manifestDigest, from);
  }

  private mountLayers(layers: LayerRec[], key: string, label: string, snapshots?: string[]): CopySource {
    return {
      digest: key,
      fromContext: false,
      label,
      open: async () => {
        const lowers = snapshots ?? (await this.materialize(layers));
        const work = await this.store.tmpDir('src-');
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
            // finishLayers waits for it before any upper dir that this mount uses is moved.
            const p = (async () => {
              await m.unmount();
              await rm(work, { recursive: true, force: true }).catch(() => undefined);
            })();
            p.catch(() => undefined);
            this.pendingReleases.push(p);
          },
        };
      },
    };
  }

  private async bindSourceDigest(from: string | undefined, source: string, stage: number, wait: (n: number) => Promise<StageResult>): Promise<string> {
    if (from === undefined) {
      if (!this.context) this.context = await deps.loadBuildContext(this.contextDir, this.readDockerignore() ?? '');
      return this.context.digest([source === '' ? '/' : source], { exclude: [], parents: false }).catch(() => digestOf({ missing: source }));
    }
    const named = this.opts.buildContexts[from];
    if (named?.kind === 'dir') return deps.dirDigest(resolvePath(named.path));
    const idx = named ? undefined : resolveStageRef(this.plan, from, stage);
    if (idx !== undefined) return (await wait(idx)).key;
    const img = named?.kind === 'oci' ? await deps.loadOciLayout(this.store, named.path, named.ref) : await this.resolveBase(named?.kind === 'image' ? named.ref : from);
    return img.manifestDigest;
  }

  // ---- execution -------------------------------------------------------------------------

  private async execCopy(action: CopyAction, root: string, srcRoot: string, src: CopySource, signal: AbortSignal): Promise<void> {
    await deps.copyFiles({
      srcRoot,
      sources: action.srcs,
      contents: action.inline.map((x) => ({ path: x.name, data: x.data })),
      destRoot: root,
      dest: action.dest,
      ignore: src.fromContext ? src.ignore : undefined,
      resetOwnership: src.fromContext,
      chown: action.chown,
      chmod: action.chmod,
      parents: action.parents,
      exclude: action.exclude,
      add: action.add,
      checksum: action.checksum,
      keepGitDir: action.keepGitDir,
      unpack: action.unpack,
      instruction: action.add ? 'ADD' : 'COPY',
      signal,
    });
  }

  private async execWorkdir(action: WorkdirAction, root: string): Promise<void> {
    let uid = 0;
    let gid = 0;
    if (action.user) {
      const u = deps.resolveUser(root, action.user);
      uid = u.uid;
      gid = u.gid;
    }
    const parts = action.path.split('/').filter(Boolean);
    let cur = '/';
    for (const p of parts) {
      cur = cur === '/' ? `/${p}` : `${cur}/${p}`;
      const host = resolveInRoot(root, cur, true);
      const st = await lstat(host).catch(() => undefined);
      if (st?.isDirectory()) continue;
      if (st) throw new UserError(`mkdir ${cur}: not a directory`);
      await mkdir(host, { mode: 0o755 });
      await chmod(host, 0o755);
      if (uid !== 0 || gid !== 0) await chown(host, uid, gid);
    }
  }

  private cacheMountDir(id: string): string {
    return join(this.store.dirs.cache, createHash('sha256').update(id).digest('hex').slice(0, 32));
  }

  private async execRun(
    action: RunAction,
    root: string,
    v: VertexHandle,
    step: Step,
    stage: number,
    wait: (n: number) => Promise<StageResult>,
    signal: AbortSignal,
    work: string,
  ): Promise<void> {
    const mounts: deps.Mount[] = [];
    const env = [...action.env];
    // BuildKit's predefined proxy ARGs reach RUN without an ARG line (and stay out of the cache key)
    for (const [k, val] of Object.entries(this.opts.buildArgs)) {
      if (/^(http_proxy|https_proxy|ftp_proxy|no_proxy|all_proxy)$/i.test(k) && !env.some((e) => e.startsWith(`${k}=`))) env.push(`${k}=${val}`);
    }
    const releases: Array<() => Promise<void> | void> = [];
    const secretDir = join(work, 'secrets');
    try {
      for (const m of action.mounts) {
        switch (m.type) {
          case 'secret': {
            const data = this.secrets.get(m.id as string);
            if (data === undefined) {
              if (m.required) throw new UserError(`secret ${m.id}: not found`);
              break;
            }
            if (m.target) {
              await mkdir(secretDir, { recursive: true, mode: 0o700 });
              const f = join(secretDir, createHash('sha256').update(m.id as string).digest('hex').slice(0, 16));
              await writeFile(f, data, { mode: m.mode ?? 0o400 });
              await chmod(f, m.mode ?? 0o400);
              await chown(f, m.uid ?? 0, m.gid ?? 0);
              mounts.push({ type: 'bind', source: f, target: m.target, readonly: true });
            }
            if (m.env) env.push(`${m.env}=${data.toString()}`);
            break;
          }
          case 'cache': {
            const id = m.id ?? m.target;
            let dir = this.cacheMountDir(id);
            if (m.sharing === 'locked') {
              let mu = this.cacheLocks.get(dir);
              if (!mu) this.cacheLocks.set(dir, (mu = new Mutex()));
              const release = await mu.lock();
              releases.push(release);
            } else if (m.sharing === 'private') {
              if (this.cacheBusy.has(dir)) dir = join(work, `cache-private-${mounts.length}`);
              else {
                this.cacheBusy.add(dir);
                const d = dir;
                releases.push(() => void this.cacheBusy.delete(d));
              }
            }
            if (!existsSync(dir)) {
              await mkdir(dir, { recursive: true });
              await chmod(dir, m.mode ?? 0o755);
              await chown(dir, m.uid ?? 0, m.gid ?? 0);
            }
            mounts.push({ type: 'bind', source: dir, target: m.target, readonly: m.readonly });
            break;
          }
          case 'tmpfs':
            mounts.push({ type: 'tmpfs', target: m.target, size: m.size });
            break;
          case 'bind': {
            let srcRoot = this.contextDir;
            if (m.from !== undefined) {
              const src = await (await this.fromSource(m.from, stage, wait)).open();
              releases.push(src.release);
              srcRoot = src.root;
            }
            const host = resolveInRoot(srcRoot, m.source ?? '/', true);
            if (!existsSync(host)) throw new UserError(`failed to compute cache key: "${m.source ?? '/'}" not found`);
            if (m.readonly) {
              mounts.push({ type: 'bind', source: host, target: m.target, readonly: true });
            } else {
              // rw bind: writes are discarded (an overlay with a throwaway upper)
              const st = statSync(host);
              if (st.isDirectory()) {
                const ov = await deps.mountOverlay([host], join(work, `bind-upper-${mounts.length}`), join(work, `bind-scratch-${mounts.length}`));
                releases.push(() => ov.unmount());
                mounts.push({ type: 'bind', source: ov.root, target: m.target, readonly: false });
              } else {
                const copy = join(work, `bind-file-${mounts.length}`);
                await writeFile(copy, await readFile(host));
                mounts.push({ type: 'bind', source: copy, target: m.target, readonly: false });
              }
            }
            break;
          }
          case 'ssh': {
            // BuildKit: a fresh socket per mount forwarding to the agent; an ID not given to
            // --ssh fails a required mount and skips an optional one
            const id = m.id ?? 'default';
            const ssh = this.ssh as SshAgents;
            const sock = await ssh.mount(id, { uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o600 });
            if (!sock) {
              if (m.required) throw new UserError(ssh.missingMessage(id));
              break;
            }
            releases.push(sock.close);
            mounts.push({ type: 'bind', source: sock.path, target: m.target, readonly: false });
            break;
          }
        }
      }
      let args = action.args;
      if (action.pipes.length) {
        // BuildKit runs a #! heredoc as /dev/pipes/NAME. The executor mounts a fresh tmpfs on
        // /dev after placing user mounts, so the script is bound elsewhere and put in place by
        // the shell; when that is impossible (non-root USER) it runs from where it is bound.
        const pipeDir = join(work, 'pipes');
        await mkdir(pipeDir, { recursive: true });
        const p = action.pipes[0];
        const f = join(pipeDir, p.name);
        await writeFile(f, p.data, { mode: 0o755 });
        await chmod(f, 0o755);
        const bound = `/run/.stagecraft-pipes/${p.name}`;
        mounts.push({ type: 'bind', source: f, target: bound, readonly: true });
        const target = `/dev/pipes/${p.name}`;
        const script = `if mkdir -p /dev/pipes 2>/dev/null && cat ${bound} > ${target} && chmod 0755 ${target}; then exec ${target}; else exec ${bound}; fi`;
        args = [...action.args.slice(0, -1), script];
      }
      const net = action.network ?? this.opts.network;
      const proc = `process ${goQuote(action.args.join(' '))} did not complete successfully`;
      const res = await deps.runContainer({
        rootfs: root,
        args,
        env,
        cwd: action.cwd,
        user: action.user,
        network: net === 'none' ? 'none' : 'host',
        mounts,
        stdin: 'ignore',
        stdout: (c: Buffer) => v.log(c.toString()),
        stderr: (c: Buffer) => v.log(c.toString()),
        signal,
        killGraceMs: 1000,
      }).catch((e: unknown) => {
        // the container could not be set up (unknown USER, ...): BuildKit words it as the process failing
        if (isUserError(e)) throw new StepFailure(`${proc}: ${e.message}`, v.name, v.lastLogs(10), step.line, step.endLine);
        throw e;
      });
      if (res.exitCode !== 0) {
        throw new StepFailure(`${proc}: exit code: ${res.exitCode}`, v.name, v.lastLogs(10), step.line, step.endLine);
      }
    } finally {
      for (const r of releases.reverse()) await r();
      await rm(secretDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

/** Where COPY/ADD or a bind mount reads from. Its digest is known up front (for the cache key);
 * the files are only mounted by `open()` when the step really runs. */
interface CopySource {
  digest: string;
  fromContext: boolean;
  ignore?: deps.PathMatcher;
  /** for attribution: the stage (name or index as written) or image the files came from */
  label?: string;
  open(): Promise<{ root: string; release: () => Promise<void> }>;
}

const noRelease = async (): Promise<void> => undefined;

