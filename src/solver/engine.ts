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
import { existsSync, statSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { basename, join, resolve as resolvePath } from 'node:path';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from '../image/types.js';
import { hostPlatform, MediaType } from '../image/types.js';
import { humanSize } from '../util/human.js';
import { UserError, isUserError } from '../util/errors.js';
import { BuildCache, type CacheRecord } from './cache.js';
import { baseKey, stepKey } from './cachekey.js';
import { countCommands, dispatchStep, fromName, initStageState, type DispatchContext, type StageState } from './dispatch.js';
import * as deps from './deps.js';
import { formatPlatform, fromChain, makeLexer, neededStages, parseTrigger, planFromText, positioned } from './frontend.js';
import { resolveStageRef, stageLabel } from '../plan/index.js';
import { MountManager, mountSource } from './mounts.js';
import type { BuildOptions } from './options.js';
import { execRun, type Executor } from './ops/exec.js';
import { exportImage } from './ops/export.js';
import { execCopy, execWorkdir } from './ops/file.js';
import { createProgress, formatFailure, type ProgressSink } from './progress.js';
import { errMsg, layersReady, NO_BLOB, StepFailure, type LayerRec, type StageResult } from './results.js';
import { runDag } from './scheduler.js';
import { Sources, type Source } from './sources.js';
import { withoutAttribution, type Attribution } from './attribution.js';
import type { SolverPlan, Step } from './types.js';
import { cacheLocation, type ExportedRecord, type ImportedCache } from './cacheio.js';
import { exportCacheTo, exportVertexName, openImports } from './cachetransfer.js';
import { SshAgents } from './ssh.js';

export { StepFailure, type LayerRec, type StageResult };

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

/** What a caller can swap in (the engine's unit tests: a fake executor). */
export interface EngineHooks {
  /** runs a RUN's process (default: the worker's runContainer) */
  executor?: Executor;
}

/**
 * Runs a build. Throws UserError (one line) on failure after printing BuildKit's report. Aborting
 * `opts.signal` (the CLI does on SIGINT/SIGTERM) stops the running steps and undoes every mount;
 * a UserError given as the abort reason is what the build throws.
 */
export async function build(opts: BuildOptions, hooks: EngineHooks = {}): Promise<BuildResult> {
  const out = opts.progressStream ?? process.stderr;
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      await progress.close();
    }
  };
  const signal = opts.signal;
  // --cache-from dirs are read before anything is solved; an unusable one is a warning
  const imports = await openImports(opts.cacheFrom ?? [], (line) => out.write(`${line}\n`));
  const progress = createProgress(opts.progress, out);
  const builder = new Builder(opts, progress, imports, hooks);
  try {
    const r = await builder.run();
    await close();
    return r;
  } catch (e) {
    await close();
    if (signal?.aborted && isUserError(signal.reason)) throw signal.reason;
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
    await builder.close();
  }
}

function dockerfileDisplayName(opts: BuildOptions): string {
  if (!opts.dockerfile || opts.dockerfile === '-') return 'Dockerfile';
  return basename(opts.dockerfile);
}

class Builder {
  private store!: deps.Store;
  private cache!: BuildCache;
  private plan!: SolverPlan;
  private platform: Platform = hostPlatform();
  /** the build context (Dockerfile, .dockerignore, file digests), loaded first thing */
  private context!: deps.BuildContext;
  private contextDir: string;
  private secrets = new Map<string, Buffer>();
  private sources!: Sources;
  private mounts!: MountManager;
  private executor: Executor;
  /** the --ssh agents; their private ssh-agents live until close() */
  private ssh?: SshAgents;
  private cachedCount = 0;
  private fromShown = new Set<string>();
  /** executed steps whose upper dirs are adopted as snapshots at the end of the build */
  private pendingCommits: Array<{ rec: LayerRec; prefix: LayerRec[]; upper: string; work: string }> = [];
  /**
   * Stages whose layers end up in the result: the target and its FROM-stage ancestors (what
   * --cache-to mode=min exports). No step writes a layer blob while the build runs: each gets its
   * diffID (tar + sha256 of the upper dir, in the background) and a snapshot, recorded in the store
   * as a lazy blob that push, save and --output make from the snapshot when the image leaves
   * (compressed once, cached: image/layer-export.ts), as BuildKit's docker exporter only hashes.
   */
  private exported = new Set<number>();
  /** unmounts of COPY --from sources, done off the critical path; awaited before snapshots move */
  private pendingReleases: Array<Promise<void>> = [];
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
    hooks: EngineHooks = {},
  ) {
    this.contextDir = resolvePath(opts.contextDir);
    this.signal = opts.signal;
    this.executor = hooks.executor ?? deps.runContainer;
  }

  /** The main build context (loaded first thing in run(), with the Dockerfile and .dockerignore). */
  private async loadedContext(): Promise<deps.BuildContext> {
    return this.context;
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
    let ctx: deps.BuildContext;
    try {
      ctx = await deps.loadContext(this.contextDir, { dockerfile: opts.dockerfile, stdin: opts.dockerfileText ?? '' });
    } catch (e) {
      v1.fail(errMsg(e));
      throw new UserError(`ERROR: failed to solve: ${errMsg(e)}`);
    }
    this.context = ctx;
    const text = ctx.dockerfile.text;
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
        namedContexts: Object.keys(opts.buildContexts),
      }).plan;
    } catch (e) {
      v1.fail(errMsg(e));
      throw e;
    }
    this.plan = plan;
    v1.done();

    this.store = await deps.openStore(opts.storeRoot);
    this.cache = new BuildCache(this.store);
    this.sources = new Sources({
      store: this.store,
      opts,
      plan,
      progress: this.progress,
      platform: this.platform,
      contextDir: this.contextDir,
      signal: this.signal,
      context: () => this.loadedContext(),
      materialize: (layers) => this.materialize(layers),
      deferRelease: (p) => void this.pendingReleases.push(p),
    });
    this.mounts = new MountManager({ store: this.store, sources: this.sources, secrets: this.secrets, ssh: this.ssh });
    const needed = neededStages(plan);

    // 2. base images (load metadata), in parallel
    const refs = new Set<string>();
    for (const i of needed) {
      const s = plan.stages[i];
      if (s.base.kind === 'image') refs.add(s.base.ref);
    }
    await Promise.all([...refs].map((r) => this.sources.image(r)));

    // 3. .dockerignore and the build context (only when a needed stage reads it)
    const v2 = this.progress.start('[internal] load .dockerignore');
    v2.status(`transferring context: ${humanSize(Math.max(2, Buffer.byteLength(ctx.ignoreText ?? '')))} done`);
    v2.done();
    if (needed.some((i) => this.usesContext(i))) {
      const v3 = this.progress.start('[internal] load build context');
      v3.status(`transferring context: ${humanSize(deps.contextSize(ctx))} done`);
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
      this.context.meta?.save(); // the digests of context files hashed so far, for the next build
      this.sources.saveContextCaches();
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
          await this.ensureBlobs(s.layers, true);
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

  private usesContext(i: number): boolean {
    const s = this.plan.stages[i];
    for (const st of s.steps) {
      if ((st.kind === 'copy' || st.kind === 'add') && st.from === undefined && st.srcs.length > 0) return true;
      if (st.kind === 'run' && st.mounts.some((m) => m.type === 'bind' && m.from === undefined)) return true;
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
        await this.store.commitSnapshot(deps.chainId(p.prefix.map((l) => l.diffId)), p.upper, p.rec.diffId);
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

  /** A layer kept as the snapshot of `chain`: recorded in the store as a lazy uncompressed blob (digest = diffID). */
  private async lazyLayer(m: { diffId: string; size: number; contentSize: number }, chain: string): Promise<Descriptor> {
    await this.store.recordLayer({ digest: m.diffId, diffId: m.diffId, size: m.size, contentSize: m.contentSize, snapshot: chain });
    return { mediaType: MediaType.OciLayerTar, digest: m.diffId, size: m.size };
  }

  /**
   * Gives every layer a blob the store can read: a layer with only a diffID and a snapshot (a cache
   * record of an older build) or an uncompressed one whose record lost its snapshot is measured from
   * the snapshot of its chain and recorded as a lazy blob. `files`: also write lazy blobs out as
   * files (the cache exporters copy blob files).
   */
  private async ensureBlobs(layers: LayerRec[], files = false): Promise<void> {
    for (let j = 0; j < layers.length; j++) {
      const l = layers[j] as LayerRec;
      const d = l.descriptor.digest;
      if (d === '' || (d === l.diffId && !this.store.canReadBlob(d))) {
        const chain = deps.chainId(layers.slice(0, j + 1).map((x) => x.diffId));
        const dir = this.snapshotOf(layers, j);
        const m = await deps.measureLayerDir(dir);
        if (m.diffId !== l.diffId) throw new Error(`snapshot ${dir} does not match its layer (${m.diffId} != ${l.diffId})`);
        l.descriptor = await this.lazyLayer(m, chain);
        if (l.cacheKey) await this.cache.put(l.cacheKey, { descriptor: l.descriptor, diffId: l.diffId, created: l.created ?? new Date().toISOString() });
      }
      if (files) await this.store.ensureBlob(l.descriptor.digest);
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
    const stageName = plan.stages.length === 1 ? '' : stageLabel(plan.stages, i);
    const attrStage = stageLabel(plan.stages, i);
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
      const img = await this.sources.image(s.base.ref);
      st = initStageState({ kind: 'image', config: img.config }, this.platform, stageName);
      // base layers are "the base image" for this build: an attribution they carry from the build
      // that made them (a stagecraft-built base) is dropped
      layers = img.manifest.layers.map((d, j) => ({ descriptor: withoutAttribution(d), diffId: img.config.rootfs.diff_ids[j] as string }));
      key = baseKey({ kind: 'image', manifestDigest: img.manifestDigest }, platStr);
      fromRef = this.sources.fromRef(s.base.ref, img);
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
        const d = resolveStageRef(plan.stages, t.from, i);
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
        if (this.sources.pulled.has(fromRef)) this.progress.start(name).done();
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
      let copySource: Source | undefined;
      const mountSources: Array<Source | undefined> = [];
      try {
        if (action.type === 'copy') {
          copySource = await this.sources.copy(action, i, wait);
          inputs.source = copySource.digest;
          attribution.paths = [...action.srcs, ...action.inline.map((x) => `<<${x.name}`)];
          if (copySource.label !== undefined) attribution.from = copySource.label;
        } else if (action.type === 'run') {
          for (const [j, m] of action.mounts.entries()) {
            if (!mountSource(m)) continue;
            const src = await this.sources.mount(m.from, m.source, i, wait);
            mountSources[j] = src;
            inputs[`mount${j}`] = src.digest;
          }
        }
      } catch (e) {
        // like BuildKit: the step's vertex fails ("failed to compute cache key: ...") and the
        // report shows the Dockerfile snippet
        if (!isUserError(e) || signal.aborted) throw positioned(e, plan.dockerfile.name, step.line);
        const failure = new StepFailure(e.message, name, [], step.line, step.endLine);
        this.progress.start(name).fail(failure.message);
        throw failure;
      }
      // the build's --network is part of a RUN's key when the RUN names none (BuildKit's ExecOp hashes its
      // NetMode; the worker's default mode is not in it)
      if (action.type === 'run' && (action.network === undefined || action.network === 'default') && this.opts.network !== 'default') inputs.network = this.opts.network;
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
            if (action.type === 'run') {
              await execRun({
                action,
                root: m.root,
                sources: mountSources,
                work,
                v,
                step,
                signal,
                mounts: this.mounts,
                executor: this.executor,
                buildArgs: this.opts.buildArgs,
                network: this.opts.network,
              });
            } else if (action.type === 'copy') {
              const src = copySource as Source;
              const opened = await src.open();
              try {
                await execCopy(action, m.root, opened.root, src, signal);
              } finally {
                await opened.release();
              }
            } else await execWorkdir(action, m.root);
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
          const below = layers;
          rec.ready = (async () => {
            const m = await deps.measureLayerDir(upper);
            await layersReady(below);
            rec.descriptor = await this.lazyLayer(m, deps.chainId([...below.map((l) => l.diffId), m.diffId]));
            rec.diffId = m.diffId;
            await this.cache.put(k, { descriptor: rec.descriptor, diffId: m.diffId, created });
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
}
