/**
 * `stagecraft build --engine buildkit|auto`: the build is done by a BuildKit builder through
 * `docker buildx build`, and the image lands in stagecraft's store with the same per-layer
 * attribution the local engine writes, so analyze / compare / lint / report work unchanged.
 * In: the build command's options (parsed, for stagecraft's own plan) and the raw flag values
 * (passed to buildx as written). Out: the image in the store, tagged, with manifest annotations
 * matched from BuildKit's history entries to stagecraft's plan (attribute.ts).
 *
 * How the image comes back: an OCI tarball (`--output type=oci,dest=...`) from builders that
 * export OCI; from the docker driver on the classic image store (which cannot) it is loaded into
 * the engine under a temporary name, `docker save`d and removed; with `--push` it stays in the
 * registry and is pulled into the store. Either way the one archive reader (`loadImages`) or
 * the registry client brings it in: the config, and so the image ID, is BuildKit's.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { hostPlatform, loadImages, type Descriptor, type ImageConfig, type ImageManifest, type Platform } from '../../image/index.js';
import { parsePlatform, pull, formatPlatform } from '../../registry/index.js';
import { Store } from '../../store/index.js';
import { readTextBounded } from '../../util/readfile.js';
import { UserError } from '../../util/errors.js';
import {
  attributionAnnotations,
  createProgress,
  parseOutput,
  planFromText,
  withoutAttribution,
  type BuildOptions,
  type ProgressSink,
} from '../../solver/index.js';
import { attributeLayers } from './attribute.js';
import { inspectBuilder, removeFromEngine, runBuildx, saveFromEngine, type BuilderInfo } from './buildx.js';

export { attributeLayers, type AttributionResult } from './attribute.js';
export { inspectBuilder, parseInspect, type BuilderInfo } from './buildx.js';
export { JsonStreamSplitter, SolveStatusReplay } from './rawjson.js';

export type EngineName = 'local' | 'buildkit' | 'auto';

/** The flag values as the user wrote them: buildx parses them itself. */
export interface RawBuildFlags {
  secrets: string[];
  ssh: string[];
  buildContexts: string[];
  cacheTo: string[];
  cacheFrom: string[];
  outputs: string[];
  platforms: string[];
}

export interface EngineChoice {
  engine: 'local' | 'buildkit';
  builder?: BuilderInfo;
  /** one line: which engine and why */
  why: string;
}

function isHost(platforms: string[]): boolean {
  const h = hostPlatform();
  return platforms.every((p) => {
    const q = parsePlatform(p);
    return q.os === h.os && q.architecture === h.architecture;
  });
}

/**
 * `--engine local|buildkit|auto` with `--builder NAME` / `$STAGECRAFT_BUILDER`: auto takes BuildKit
 * when a builder is named and answers, else the local engine. Errors are one line.
 */
export async function chooseEngine(engine: EngineName, builderFlag: string | undefined, platforms: string[], env: NodeJS.ProcessEnv = process.env): Promise<EngineChoice> {
  if (!['local', 'buildkit', 'auto'].includes(engine)) throw new UserError(`invalid --engine ${JSON.stringify(engine)} (local, buildkit, auto)`);
  const named = builderFlag ?? (env.STAGECRAFT_BUILDER || undefined);
  const local = (why: string): EngineChoice => {
    if (!isHost(platforms)) throw new UserError(`--platform ${platforms.join(',')}: the local engine builds only ${formatPlatform(hostPlatform())} (no emulation); use --engine buildkit`);
    return { engine: 'local', why };
  };
  if (engine === 'local') {
    if (builderFlag) throw new UserError('--builder needs --engine buildkit or --engine auto');
    return local('local engine');
  }
  if (engine === 'buildkit') {
    const b = await inspectBuilder(named);
    return { engine: 'buildkit', builder: b, why: `BuildKit builder "${b.name}" (${b.driver} driver)` };
  }
  if (!named) return local('--engine auto: local engine (no builder named: set STAGECRAFT_BUILDER or --builder)');
  try {
    const b = await inspectBuilder(named, 15_000);
    return { engine: 'buildkit', builder: b, why: `--engine auto: BuildKit builder "${b.name}" (${b.driver} driver)` };
  } catch (e) {
    return local(`--engine auto: local engine (${e instanceof Error ? e.message.replace(/^--engine buildkit: /, '') : String(e)})`);
  }
}

/** Where the built image is fetched from after buildx is done. */
type Landing = { kind: 'archive'; file: string } | { kind: 'engine'; ref: string; file: string } | { kind: 'registry'; ref: string } | { kind: 'none' };

/** The `docker buildx build` arguments (without the context) and where the image will be. Pure. */
export function buildxArgs(opts: BuildOptions, raw: RawBuildFlags, builder: BuilderInfo, dockerfile: string, tmp: string): { args: string[]; landing: Landing } {
  const a: string[] = ['--progress', 'rawjson', '--builder', builder.name, '-f', dockerfile];
  if (opts.target) a.push('--target', opts.target);
  for (const [k, v] of Object.entries(opts.buildArgs)) a.push('--build-arg', `${k}=${v}`);
  for (const s of raw.secrets) a.push('--secret', s);
  for (const s of raw.ssh) a.push('--ssh', s);
  for (const c of raw.buildContexts) a.push('--build-context', c);
  for (const [k, v] of Object.entries(opts.labels)) a.push('--label', `${k}=${v}`);
  if (opts.noCache) a.push('--no-cache');
  if (opts.pull) a.push('--pull');
  if (raw.platforms.length) a.push('--platform', raw.platforms.join(','));
  if (opts.network === 'slirp4netns') throw new UserError('--network slirp4netns is a mode of the local engine; a BuildKit builder takes default, host or none');
  if (opts.network !== 'default') a.push('--network', opts.network);
  const exportsCache = raw.cacheTo.some((c) => !/(^|,)type=inline(,|$)/.test(c));
  if (exportsCache && !builder.ociExport) {
    throw new UserError(`--cache-to: builder "${builder.name}" (docker driver, classic image store) cannot export a build cache (only type=inline); use a docker-container, remote or kubernetes builder, or the containerd image store`);
  }
  for (const c of raw.cacheTo) a.push('--cache-to', c);
  for (const c of raw.cacheFrom) a.push('--cache-from', c);
  let landing: Landing;
  if (raw.outputs.length) {
    for (const o of raw.outputs) a.push('--output', o);
    if (opts.push) a.push('--push');
    const file = opts.outputs.find((o) => (o.type === 'oci' || o.type === 'docker') && o.dest && o.dest !== '-');
    landing = file ? { kind: 'archive', file: resolvePath(file.dest as string) } : { kind: 'none' };
  } else if (opts.push) {
    if (!opts.tags.length) throw new UserError('ERROR: --push needs a name (-t NAME:TAG)');
    for (const t of opts.tags) a.push('-t', t);
    a.push('--push');
    landing = { kind: 'registry', ref: opts.tags[0] as string };
  } else if (builder.ociExport) {
    const file = join(tmp, 'image.tar');
    a.push('--output', `type=oci,dest=${file}`);
    landing = { kind: 'archive', file };
  } else {
    const ref = `stagecraft-buildkit-${randomBytes(6).toString('hex')}:latest`;
    a.push('--output', `type=docker,name=${ref}`);
    landing = { kind: 'engine', ref, file: join(tmp, 'image.tar') };
  }
  return { args: a, landing };
}

export interface BuildKitResult {
  /** the image ID (config digest), when the image is in the store */
  imageId?: string;
  manifestDigest?: string;
  /** layers attributed to a Dockerfile line / all layers */
  attributed: number;
  layers: number;
}

/** Runs the build on BuildKit and brings the image into the store (see the module comment). */
export async function buildWithBuildKit(opts: BuildOptions, raw: RawBuildFlags, builder: BuilderInfo): Promise<BuildKitResult> {
  const out = opts.progressStream ?? process.stderr;
  const contextDir = resolvePath(opts.contextDir);
  if (!existsSync(contextDir) || !statSync(contextDir).isDirectory()) throw new UserError(`unable to prepare context: path "${opts.contextDir}" not found`);
  for (const o of raw.outputs) parseOutput(o); // the same one-line errors as the local engine
  const store = await Store.open(opts.storeRoot);
  const tmp = await store.tmpDir('buildkit-');
  const progress = createProgress(opts.progress, out);
  const ac = new AbortController();
  if (opts.signal) opts.signal.addEventListener('abort', () => ac.abort(opts.signal?.reason), { once: true });
  const onSignal = (sig: NodeJS.Signals): void => ac.abort(new UserError(`ERROR: failed to solve: canceled (${sig})`, { exitCode: 130 }));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let landing: Landing = { kind: 'none' };
  try {
    progress.start(`[stagecraft] building on BuildKit builder "${builder.name}" (${builder.driver} driver${builder.endpoint ? `, ${builder.endpoint}` : ''})`).done();
    let dockerfile: string;
    let text: string;
    if (opts.dockerfile === '-') {
      text = opts.dockerfileText ?? '';
      dockerfile = join(tmp, 'Dockerfile');
      await writeFile(dockerfile, text);
    } else {
      dockerfile = opts.dockerfile ? resolvePath(opts.dockerfile) : join(contextDir, 'Dockerfile');
      try {
        text = readTextBounded(dockerfile, 'Dockerfile');
      } catch (e) {
        if (e instanceof UserError) throw new UserError(`ERROR: failed to solve: ${e.message}`);
        throw new UserError(`ERROR: failed to solve: failed to read dockerfile: open ${dockerfile}: no such file or directory`);
      }
    }
    const built = buildxArgs(opts, raw, builder, dockerfile, tmp);
    landing = built.landing;
    const { warnings } = await runBuildx([...built.args, contextDir], progress, { signal: ac.signal });
    for (const w of warnings) progress.start(`[stagecraft] BuildKit warning: ${w}`).done();
    if (landing.kind === 'none') {
      progress.start('[stagecraft] the image went to the --output given; nothing stored').done();
      return { attributed: 0, layers: 0 };
    }
    return await land(store, opts, text, landing, progress);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (landing.kind === 'engine') await removeFromEngine(landing.ref);
    await progress.close();
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    await store.release?.();
  }
}

/** Brings the built image into the store, attributes its layers, names it. */
async function land(store: Store, opts: BuildOptions, dockerfileText: string, landing: Exclude<Landing, { kind: 'none' }>, progress: ProgressSink): Promise<BuildKitResult> {
  const v = progress.start('[stagecraft] importing the image into the store');
  try {
    const before = new Set((await store.listImages()).map((r) => r.manifestDigest));
    let id: string;
    if (landing.kind === 'registry') {
      const r = await pull(store, landing.ref);
      id = r.image.configDigest;
    } else {
      if (landing.kind === 'engine') await saveFromEngine(landing.ref, landing.file);
      const loaded = await loadImages(store, landing.file);
      if (!loaded[0]) throw new UserError('--engine buildkit: BuildKit returned no image');
      id = loaded[0].id;
    }
    const fresh = (await store.listImages()).filter((r) => r.configDigest === id && !before.has(r.manifestDigest));
    const img = await store.resolveImage(fresh[0]?.manifestDigest ?? id);
    if (!img) throw new UserError(`--engine buildkit: image ${id} did not land in the store`);
    v.status(`loaded image ${id} done`);

    // attribution: stagecraft's plan of the same Dockerfile, matched to BuildKit's history
    const platform: Platform = hostPlatform();
    const bases = new Map<string, ImageConfig>();
    let plan;
    let planError: string | undefined;
    try {
      plan = planFromText(dockerfileText, { file: 'Dockerfile', target: opts.target, buildArgs: opts.buildArgs, platform, buildPlatform: platform }).plan;
      for (const s of plan.stages) {
        if (!s.needed || s.base.kind !== 'image') continue;
        const nc = opts.buildContexts[s.base.ref];
        const cand = [s.base.ref, ...(nc?.kind === 'image' ? [nc.ref] : [])];
        for (const c of cand) {
          const b = await store.resolveImage(c).catch(() => undefined);
          if (b) {
            bases.set(s.base.ref, b.config);
            break;
          }
        }
      }
    } catch (e) {
      planError = e instanceof Error ? e.message : String(e);
    }
    const layers = img.manifest.layers;
    const result = plan
      ? attributeLayers(plan, img.config, layers.length, { buildArgs: opts.buildArgs, platform, baseConfig: (r) => bases.get(r) })
      : { layers: new Array(layers.length).fill(undefined), baseLayers: 0, matched: 0, notes: [`stagecraft cannot plan this Dockerfile (${planError}): no layer attributed`] };
    const annotated: Descriptor[] = layers.map((d, i) => {
      const base = withoutAttribution(d);
      const ann = { ...(base.annotations ?? {}), ...attributionAnnotations(result.layers[i]) };
      return Object.keys(ann).length ? { ...base, annotations: ann } : base;
    });
    const manifest: ImageManifest = { ...img.manifest, layers: annotated };
    const tags = opts.tags;
    const mdesc = await store.putImage(manifest, img.config, tags, { config: await store.readBlob(img.configDigest) });
    // the unannotated copy this import made is not an image of its own
    for (const r of fresh) if (r.manifestDigest !== mdesc.digest) await store.removeImage(r.manifestDigest);
    const own = layers.length - result.baseLayers;
    v.status(`attributed ${result.matched} of ${own} layers to Dockerfile lines (${result.baseLayers} from the base image)`);
    for (const n of result.notes) v.status(`not attributed: ${n}`);
    v.status(`writing image ${img.configDigest} done`);
    for (const t of tags) v.status(`naming to ${t} done`);
    v.done();
    if (opts.iidfile) await writeFile(opts.iidfile, img.configDigest);
    return { imageId: img.configDigest, manifestDigest: mdesc.digest, attributed: result.matched, layers: layers.length };
  } catch (e) {
    v.fail(e instanceof Error ? e.message : String(e));
    throw e;
  }
}
