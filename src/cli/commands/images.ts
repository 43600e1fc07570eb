/**
 * Image commands over the local store: import, images, save, load, tag, rmi, inspect, history,
 * image prune, system df|prune|fsck. Flag parsing and docker's wording only; the work is in
 * src/store and src/image. Each command's options and action are a `defineX(cmd)` so that the
 * `image …` management commands (manage.ts) are the same commands under docker's other names.
 */
import type { Command } from 'commander';
import { Store, buildCacheUsage, diskUsage, imageUsage, prune, fsck, type ImageRecord } from '../../store/index.js';
import * as image from '../../image/index.js';
import { formatImages, noSuchImage } from '../format/list.js';
import { historyRows, inspectObject, type HistoryRow } from '../format/describe.js';
import { formatDiskUsage, formatDiskUsageVerbose, formatHistoryRows, typedNils } from '../format/contexts.js';
import { humanSize, humanSize4 } from '../../util/human.js';
import type { ImageConfig } from '../../image/types.js';
import { findContainer, listContainers, type ContainerRecord } from '../../containers/records.js';
import { containerDiskUsage, containerImageRoots } from '../../containers/usage.js';
import { inspectContainer } from '../../containers/inspect.js';
import { UserError, isUserError } from '../../util/errors.js';
import { Filters, parseUntil } from '../../util/filters.js';
import { TemplateError, executeTemplate, parseTemplate, type ExecOptions } from '../../util/template.js';
import { normalizeTag } from '../../store/index.js';
import { checkOutputFile, confirm, writingOutput } from '../io.js';
import { namespaceInfo } from '../../worker/exec/rootless.js';

/** The store, with the images containers run as gc roots (rmi, prune, df and fsck keep them). */
const openStore = async (): Promise<Store> => (await Store.open()).addGcRoots(containerImageRoots);
const collect = (v: string, prev: string[]): string[] => [...prev, v];
const out = (s: string): void => {
  process.stdout.write(s);
};

export function register(program: Command): void {
  defineImport(program.command('import'));
  defineImages(program.command('images').alias('image-ls'));
  registerMore(program);
}

export function defineImport(cmd: Command): Command {
  return cmd
    .description('Create an image from a rootfs tarball (like docker import)')
    .argument('<file>', 'rootfs tarball (plain, gzip or zstd)')
    .argument('[reference]', 'NAME[:TAG] for the new image')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, ...)', collect, [])
    .option('-m, --message <text>', 'commit message for the history')
    .option('--compression <kind>', 'gzip or zstd', 'gzip')
    .action(async (file: string, ref: string | undefined, o: { change: string[]; message?: string; compression: string }) => {
      const store = await openStore();
      const r = await image.importRootfs(store, file, ref, { changes: o.change, message: o.message, compression: compressionOpt(o.compression) });
      out(`${r.id}\n`);
    });
}

export function defineImages(cmd: Command): Command {
  return cmd
    .description('List images in the local store')
    .argument('[repository]', 'only this REPOSITORY[:TAG] (a pattern, as a reference filter)')
    .option('-q, --quiet', 'only image IDs')
    .option('-a, --all', 'accepted for docker compatibility (there are no intermediate images)')
    .option('--digests', 'show manifest digests')
    .option('--no-trunc', 'full image IDs (sha256:...)')
    .option('--format <format>', "'table', 'table TEMPLATE', 'json' or a Go template ({{.Repository}}:{{.Tag}})")
    .option('-f, --filter <filter>', 'dangling=true|false, reference=PATTERN, before=IMAGE, since=IMAGE, label=K[=V], until=TIME', collect, [])
    .action(async (repo: string | undefined, o: { quiet?: boolean; digests?: boolean; format?: string; trunc: boolean; filter: string[] }) => {
      const filters = Filters.parse(o.filter);
      const store = await openStore();
      const recs = await store.listImages();
      // before=/since= name images; label= reads their configs
      const named = new Map<string, ImageRecord>();
      for (const v of [...filters.get('before'), ...filters.get('since')]) {
        const img = await store.resolveImage(v);
        const rec = img && recs.find((r) => r.manifestDigest === img.manifestDigest);
        if (rec) named.set(v, rec);
      }
      let labels: Map<string, Record<string, string> | undefined> | undefined;
      if (filters.has('label')) {
        labels = new Map();
        for (const r of recs) labels.set(r.manifestDigest, (await store.readJson<ImageConfig>(r.configDigest).catch(() => undefined))?.config?.Labels);
      }
      const resolve = (v: string): ImageRecord => {
        const r = named.get(v);
        if (!r) throw noSuchImage(v);
        return r;
      };
      out(formatImages(recs, { quiet: o.quiet, digests: o.digests, format: o.format, noTrunc: !o.trunc, filter: repo, filters, resolve, labels }));
    });
}

function compressionOpt(s: string): 'gzip' | 'zstd' {
  if (s === 'gzip' || s === 'zstd') return s;
  throw new UserError(`--compression must be gzip or zstd, not ${s}`);
}

function registerMore(program: Command): void {
  defineSave(program.command('save'));
  defineLoad(program.command('load'));
  defineTag(program.command('tag'));
  defineRmi(program.command('rmi'));
  defineInspect(program.command('inspect'));
  defineHistory(program.command('history'));

  const system = program.command('system').description('Manage the local store');
  system
    .command('df')
    .description('Show store disk usage')
    .option('--format <format>', "'table', 'table TEMPLATE', 'json' or a Go template ({{.Type}} {{.Size}})")
    .option('-v, --verbose', 'Show detailed information on space usage')
    .action(async (o: { format?: string; verbose?: boolean }) => {
      const store = await openStore();
      const c = await containerDiskUsage(store);
      if (o.verbose) {
        const recs = await listContainers(store);
        const image = async (r: ContainerRecord) => ((await store.resolveImage(r.config.image).catch(() => undefined))?.configDigest === r.config.imageId ? r.config.image : r.config.imageId);
        const containers = [];
        for (const rec of recs) containers.push({ rec, size: c.sizes.get(rec.id) ?? 0, image: await image(rec) });
        out(formatDiskUsageVerbose({ images: await imageUsage(store), containers, caches: await buildCacheUsage(store) }, o.format));
        return;
      }
      const rows = await diskUsage(store);
      rows.splice(1, 0, { type: 'Containers', total: c.total, active: c.active, size: c.size, reclaimable: c.reclaimable });
      out(formatDiskUsage(rows, o.format));
    });
  system
    .command('info')
    .description('Show the store, snapshotter and (rootless) user namespace in use')
    .action(async () => {
      const store = await Store.open();
      out(`${[...(await namespaceInfo(store.dirs.tmp)), `Root Dir: ${store.root}`].join('\n')}\n`);
    });
  system
    .command('prune')
    .description('Remove dangling images, unreferenced blobs and snapshots, stale temp files')
    .option('-f, --force', 'do not prompt (stagecraft never prompts)')
    .action(async () => {
      const store = await openStore();
      const r = await prune(store);
      for (const i of r.images) out(`deleted: ${i}\n`);
      for (const m of r.unmounted) out(`unmounted stale mount ${m}\n`);
      for (const f of r.failed) process.stderr.write(`cannot remove stale temp dir ${f}\n`);
      if (r.busy) out('another stagecraft process is writing to the store: unreferenced blobs were kept\n');
      out(`Deleted ${r.blobs} blobs, ${r.snapshots} snapshots, ${r.temps} temp files\nTotal reclaimed space: ${humanSize(r.bytes)}\n`);
    });
  system
    .command('fsck')
    .description('Verify every blob and reference in the store; remove temp files of dead processes')
    .option('--snapshots', 'also re-read every unpacked layer snapshot against its diffID (reads everything)')
    .option('--repair', 'with --snapshots: remove the bad snapshots (unpacked again or rebuilt when next needed)')
    .action(async (o: { snapshots?: boolean; repair?: boolean }) => {
      if (o.repair && !o.snapshots) throw new UserError('--repair needs --snapshots');
      const store = await openStore();
      const r = await fsck(store, { snapshots: o.snapshots, repair: o.repair });
      for (const m of r.unmounted) out(`unmounted stale mount ${m}\n`);
      for (const t of r.removedTemps) out(`removed stale temp file ${t}\n`);
      for (const s of r.removedSnapshots) out(`removed bad snapshot ${s}\n`);
      for (const p of r.problems) out(`problem: ${p}\n`);
      if (r.problems.length) throw new UserError(`store ${store.root}: ${r.problems.length} problem(s) found`);
      out(`store ${store.root} is clean: ${r.blobs} blobs, ${r.images} images${r.snapshots === undefined ? '' : `, ${r.snapshots} snapshots verified`}\n`);
    });
}

/** `save` (also `image save`) */
export function defineSave(cmd: Command): Command {
  return cmd
    .description('Write images to a docker-archive (default) or OCI layout tarball')
    .argument('<image...>', 'images to save')
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .option('--format <format>', 'docker or oci', 'docker')
    .action(async (names: string[], o: { output?: string; format: string }) => {
      if (o.format !== 'docker' && o.format !== 'oci') throw new UserError(`--format must be docker or oci, not ${o.format}`);
      if (o.output && o.output !== '-') checkOutputFile(o.output, 'failed to save image');
      const store = await openStore();
      const save = () => image.saveImages(store, names, o.output, o.format as 'docker' | 'oci');
      await (o.output && o.output !== '-' ? writingOutput(o.output, 'failed to save image', save) : save());
    });
}

/** `load` (also `image load`) */
export function defineLoad(cmd: Command): Command {
  return cmd
    .description('Load images from a docker-archive or OCI layout tarball')
    .option('-i, --input <file>', 'read from FILE instead of stdin')
    .option('-q, --quiet', 'print nothing')
    .action(async (o: { input?: string; quiet?: boolean }) => {
      const store = await openStore();
      const loaded = await image.loadImages(store, o.input);
      if (o.quiet) return;
      for (const l of loaded) {
        if (l.refs.length === 0) out(`Loaded image ID: ${l.id}\n`);
        for (const r of l.refs) out(`Loaded image: ${r}\n`);
      }
    });
}

/** `tag` (also `image tag`) */
export function defineTag(cmd: Command): Command {
  return cmd
    .description('Create a tag TARGET that refers to SOURCE')
    .argument('<source>', 'SOURCE_IMAGE[:TAG] or image ID')
    .argument('<target>', 'TARGET_IMAGE[:TAG]')
    .action(async (src: string, dst: string) => {
      const store = await openStore();
      await store.tag(src, dst);
    });
}


/** `rmi` (also `image rm`): docker's ImageDelete rules and wording */
export function defineRmi(cmd: Command): Command {
  return cmd
    .description('Remove images: untag, and delete an image when its last tag goes')
    .argument('<image...>', 'images by name or ID')
    .option('-f, --force', 'delete an image ID with several tags or used by a stopped container; untag one a container uses')
    .action(async (names: string[], o: { force?: boolean }) => {
      const store = await openStore();
      // docker prints every success first, then the errors; -f tolerates only "No such image"
      const errs: string[] = [];
      let fatal = false;
      for (const n of names) {
        try {
          for (const line of await removeImage(store, n, !!o.force)) out(`${line}\n`);
        } catch (e) {
          if (!isUserError(e)) throw e;
          if (!e.message.startsWith('No such image: ')) fatal = true;
          errs.push(e.message);
        }
      }
      await store.gc();
      if (errs.length === 0) return;
      if (!o.force || fatal) throw new UserError(errs.join('\n'), { multiline: true });
      process.stderr.write(`${errs.join('\n')}\n`);
    });
}

/** The daemon's ImageDelete for one name: the lines to print (`Untagged: …`, `Deleted: …`). */
async function removeImage(store: Store, name: string, force: boolean): Promise<string[]> {
  const img = await store.resolveImage(name);
  if (!img) throw noSuchImage(name);
  const id12 = img.configDigest.slice(7, 19);
  const users = (await listContainers(store)).filter((c) => c.config.manifestDigest === img.manifestDigest);
  const running = users.find((c) => c.state.status === 'running');
  const stopped = users.find((c) => c.state.status !== 'running');
  const short = (c: ContainerRecord): string => c.id.slice(0, 12);
  const conflict = (hard: boolean, why: string): UserError => new UserError(`conflict: unable to delete ${id12} (${hard ? 'cannot be forced' : 'must be forced'}) - ${why}`);
  let tag: string | undefined;
  try {
    tag = normalizeTag(name);
  } catch {
    tag = undefined;
  }
  const lines: string[] = [];
  if (tag && img.refs.includes(tag)) {
    // a repository reference: untag it; the image goes with its last tag
    if (!force && img.refs.length === 1 && users.length) {
      throw new UserError(`conflict: unable to remove repository reference ${JSON.stringify(name)} (must force) - container ${short(users[0]!)} is using its referenced image ${id12}`);
    }
    const r = await store.untag(tag);
    lines.push(`Untagged: ${tag}`);
    if (!r?.lastRef) return lines;
    if (running || (stopped && !force)) {
      // docker keeps an image its container uses, now dangling
      const raw = { manifest: await store.readBlob(img.manifestDigest), config: await store.readBlob(img.configDigest) };
      await store.putImage(img.manifest, img.config, [], raw);
      return lines;
    }
    lines.push(`Deleted: ${img.configDigest}`);
    return lines;
  }
  // an image ID
  if (running) throw conflict(true, `image is being used by running container ${short(running)}`);
  if (!force && img.refs.length > 1) throw conflict(false, 'image is referenced in multiple repositories');
  if (!force && stopped) throw conflict(false, `image is being used by stopped container ${short(stopped)}`);
  for (const r of (await store.removeImage(img.manifestDigest)).sort()) lines.push(`Untagged: ${r}`);
  lines.push(`Deleted: ${img.configDigest}`);
  return lines;
}

const INSPECT_TYPES = ['config', 'container', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'task', 'volume'];

/**
 * `inspect` (`image inspect` with type image, `container inspect` with type container): docker's
 * JSON (4-space indent), `-f json` (one compact array) or a Go template per object. Without a
 * type a name is looked up as a container first, then as an image, as docker does.
 */
export function defineInspect(cmd: Command, fixedType?: 'image' | 'container'): Command {
  cmd
    .description(fixedType === 'container' ? 'Show low-level information about containers (docker-style JSON)' : fixedType === 'image' ? 'Show low-level information about images (docker-style JSON)' : 'Show low-level information about containers or images (docker-style JSON)')
    .argument('<name...>', fixedType ? `${fixedType}s by name or ID` : 'containers or images by name or ID')
    .option('-f, --format <template>', "'json' or a Go template: {{.Id}}, {{json .Config}}, {{index .RepoTags 0}}");
  if (!fixedType) cmd.option('--type <type>', 'image or container');
  return cmd.action(async (names: string[], o: { format?: string; type?: string }) => {
    const type = fixedType ?? o.type;
    if (type !== undefined && !INSPECT_TYPES.includes(type)) {
      throw new UserError(`unknown type: ${JSON.stringify(type)}: must be one of ${INSPECT_TYPES.map((t) => JSON.stringify(t)).join(', ')}`);
    }
    let tpl: ReturnType<typeof parseTemplate> | undefined;
    if (o.format && o.format !== 'json') {
      try {
        tpl = parseTemplate(o.format);
      } catch (e) {
        throw new UserError(`template parsing error: ${(e as Error).message}`, { exitCode: 64 });
      }
    }
    const store = await openStore();
    const objs: Record<string, unknown>[] = [];
    const errs: string[] = [];
    let text = '';
    for (const n of names) {
      try {
        const obj = await inspectOne(store, n, type);
        objs.push(obj);
        if (tpl) text += `${executeTemplate(tpl, obj, INSPECT_EXEC)}\n`;
      } catch (e) {
        if (e instanceof TemplateError) errs.push(`template parsing error: ${e.message}`);
        else if (isUserError(e)) errs.push(e.message);
        else throw e;
      }
    }
    if (tpl) out(text || '\n');
    else if (o.format === 'json') out(`${JSON.stringify(objs)}\n`);
    else out(`${objs.length ? JSON.stringify(objs, null, 4) : '[]'}\n`);
    if (errs.length) throw new UserError(errs.join('\n'), { multiline: true });
  });
}

/**
 * An image named with a source prefix (docker-archive:, oci:, docker-daemon:, docker://...): its
 * config and layer sizes; undefined for a store name.
 */
async function readSource(spec: string): Promise<{ image: import('../../source/index.js').SourceImage; sizes: number[] } | undefined> {
  const src = await import('../../source/index.js');
  if (!src.hasSourcePrefix(spec)) return undefined;
  return src.imageLayerSizes(await src.openImageSource(spec, { store: () => Store.open() }));
}

/** docker inspect runs templates over the JSON with missingkey=error */
const INSPECT_EXEC: ExecOptions = { missingKeyError: true };

async function inspectOne(store: Store, name: string, type: string | undefined): Promise<Record<string, unknown>> {
  if (type === undefined || type === 'container') {
    const c = await findContainer(store, name);
    if (c) return inspectContainer(store, c);
    if (type === 'container') throw new UserError(`No such container: ${name}`);
  }
  const fromSource = type === undefined || type === 'image' ? await readSource(name) : undefined;
  if (fromSource) return typedNils(inspectObject({ img: fromSource.image, layerSizes: fromSource.sizes }));
  if (type === undefined || type === 'image') {
    const img = await store.resolveImage(name);
    if (img) {
      const recs = await store.listImages();
      const sizes: number[] = [];
      for (const l of img.manifest.layers) sizes.push((await store.layerInfo(l)).contentSize);
      const manifestSize = (await store.readBlob(img.manifestDigest)).length;
      return typedNils(inspectObject({ img, record: recs.find((r) => r.manifestDigest === img.manifestDigest), layerSizes: sizes, manifestSize }));
    }
    if (type === 'image') throw noSuchImage(name);
  }
  throw new UserError(`Error: No such object: ${name}`);
}

/** `history` (also `image history`) */
export function defineHistory(cmd: Command): Command {
  return cmd
    .description('Show the history of an image (CREATED BY and SIZE per layer)')
    .argument('<image>', 'image by name or ID')
    .option('--no-trunc', 'do not truncate output')
    .option('-q, --quiet', 'only image IDs')
    .option('-H, --human [bool]', 'human-readable sizes and dates', 'true')
    .option('--format <format>', "'table', 'table TEMPLATE', 'json' or a Go template ({{.CreatedBy}})")
    .action(async (name: string, o: { trunc: boolean; quiet?: boolean; human: string; format?: string }) => {
      let rows: HistoryRow[];
      let fullId: string;
      const fromSource = await readSource(name);
      if (fromSource) {
        rows = historyRows(fromSource.image, fromSource.sizes);
        fullId = fromSource.image.configDigest;
      } else {
        const store = await openStore();
        const img = await store.resolveImage(name);
        if (!img) throw noSuchImage(name);
        const sizes: number[] = [];
        for (const l of img.manifest.layers) sizes.push((await store.layerInfo(l)).contentSize);
        rows = historyRows(img, sizes);
        fullId = img.configDigest;
      }
      // a Go bool flag: -H=false, --human=0, -H f, ...
      const human = !['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(o.human.replace(/^=/, ''));
      out(formatHistoryRows(rows, { format: o.format, quiet: o.quiet, human, noTrunc: !o.trunc, fullId }));
    });
}

const PRUNE_WARNING = {
  dangling: 'WARNING! This will remove all dangling images.\nAre you sure you want to continue?',
  all: 'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?',
};

/**
 * `image prune`: dangling images, or with -a every image no container uses; asks first unless -f
 * (docker's prompt); prints `Deleted Images:`, `untagged: …`, `deleted: sha256:…` and
 * `Total reclaimed space: …` like docker.
 */
export function defineImagePrune(cmd: Command): Command {
  return cmd
    .description('Remove unused images (dangling ones; -a: every image no container uses)')
    .option('-a, --all', 'remove all images no container uses, not just dangling ones')
    .option('-f, --force', 'do not prompt for confirmation')
    .option('--filter <filter>', 'until=TIME, label=K[=V], label!=K[=V]', collect, [])
    .action(async (o: { all?: boolean; force?: boolean; filter: string[] }) => {
      const filters = Filters.parse(o.filter);
      filters.validate(['until', 'label', 'label!']);
      if (!o.force && !(await confirm(o.all ? PRUNE_WARNING.all : PRUNE_WARNING.dangling))) return;
      const store = await openStore();
      const until = filters.get('until').map((v) => parseUntil(v));
      const used = new Set((await listContainers(store)).map((c) => c.config.manifestDigest));
      const recs = (await store.listImages()).sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
      const lines: string[] = [];
      for (const r of recs) {
        if (used.has(r.manifestDigest) || (!o.all && r.refs.length > 0)) continue;
        const created = r.created ? Date.parse(r.created) : 0;
        if (until.some((u) => created > u)) continue;
        if (filters.has('label') || filters.has('label!')) {
          const labels = (await store.readJson<ImageConfig>(r.configDigest).catch(() => undefined))?.config?.Labels;
          if (!filters.matchLabels(labels)) continue;
          if (filters.get('label!').some((l) => Filters.parse([`label=${l}`]).matchLabels(labels))) continue;
        }
        for (const ref of (await store.removeImage(r.manifestDigest)).sort()) lines.push(`untagged: ${ref}`);
        lines.push(`deleted: ${r.configDigest}`);
      }
      const g = await store.gc({ snapshots: true });
      if (lines.length) out(`Deleted Images:\n${lines.join('\n')}\n\n`);
      out(`Total reclaimed space: ${humanSize4(g.bytes)}\n`);
    });
}
