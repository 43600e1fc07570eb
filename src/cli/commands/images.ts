/**
 * Image commands over the local store: import, images, save, load, tag, rmi, inspect, history,
 * system df|prune|fsck. Flag parsing only; the work is in src/store and src/image.
 */
import type { Command } from 'commander';
import { Store, diskUsage, prune, fsck } from '../../store/index.js';
import * as image from '../../image/index.js';
import { UserError } from '../../util/errors.js';
import { normalizeTag } from '../../store/index.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const out = (s: string): void => {
  process.stdout.write(s);
};

export function register(program: Command): void {
  program
    .command('import')
    .description('Create an image from a rootfs tarball (like docker import)')
    .argument('<file>', 'rootfs tarball (plain, gzip or zstd)')
    .argument('[reference]', 'NAME[:TAG] for the new image')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, ...)', collect, [])
    .option('-m, --message <text>', 'commit message for the history')
    .option('--compression <kind>', 'gzip or zstd', 'gzip')
    .action(async (file: string, ref: string | undefined, o: { change: string[]; message?: string; compression: string }) => {
      const store = await Store.open();
      const r = await image.importRootfs(store, file, ref, { changes: o.change, message: o.message, compression: compressionOpt(o.compression) });
      out(`${r.id}\n`);
    });

  program
    .command('images')
    .alias('image-ls')
    .description('List images in the local store')
    .argument('[repository]', 'only this REPOSITORY[:TAG]')
    .option('-q, --quiet', 'only image IDs')
    .option('--digests', 'show manifest digests')
    .option('--format <format>', 'table or json', 'table')
    .option('-a, --all', 'accepted for docker compatibility')
    .action(async (repo: string | undefined, o: { quiet?: boolean; digests?: boolean; format: string }) => {
      const store = await Store.open();
      out(image.formatImages(await store.listImages(), { quiet: o.quiet, digests: o.digests, format: o.format, filter: repo }));
    });

  registerMore(program);
}

function compressionOpt(s: string): 'gzip' | 'zstd' {
  if (s === 'gzip' || s === 'zstd') return s;
  throw new UserError(`--compression must be gzip or zstd, not ${s}`);
}

function registerMore(program: Command): void {
  program
    .command('save')
    .description('Write images to a docker-archive (default) or OCI layout tarball')
    .argument('<image...>', 'images to save')
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .option('--format <format>', 'docker or oci', 'docker')
    .action(async (names: string[], o: { output?: string; format: string }) => {
      if (o.format !== 'docker' && o.format !== 'oci') throw new UserError(`--format must be docker or oci, not ${o.format}`);
      const store = await Store.open();
      await image.saveImages(store, names, o.output, o.format);
    });

  program
    .command('load')
    .description('Load images from a docker-archive or OCI layout tarball')
    .option('-i, --input <file>', 'read from FILE instead of stdin')
    .option('-q, --quiet', 'print nothing')
    .action(async (o: { input?: string; quiet?: boolean }) => {
      const store = await Store.open();
      const loaded = await image.loadImages(store, o.input);
      if (o.quiet) return;
      for (const l of loaded) {
        if (l.refs.length === 0) out(`Loaded image ID: ${l.id}\n`);
        for (const r of l.refs) out(`Loaded image: ${r}\n`);
      }
    });

  program
    .command('tag')
    .description('Create a tag TARGET that refers to SOURCE')
    .argument('<source>', 'SOURCE_IMAGE[:TAG] or image ID')
    .argument('<target>', 'TARGET_IMAGE[:TAG]')
    .action(async (src: string, dst: string) => {
      const store = await Store.open();
      await store.tag(src, dst);
    });

  program
    .command('rmi')
    .description('Remove images (untag; delete when no tag is left) and their unreferenced blobs')
    .argument('<image...>', 'images by name or ID')
    .option('-f, --force', 'remove an image ID that has several tags')
    .action(async (names: string[], o: { force?: boolean }) => {
      const store = await Store.open();
      const users = await store.containerImages();
      let failed = false;
      for (const n of names) {
        try {
          const img = await store.requireImage(n);
          const inUse = users.get(img.manifestDigest);
          let tag: string | undefined;
          try {
            tag = normalizeTag(n);
          } catch {
            tag = undefined;
          }
          if (tag && img.refs.includes(tag)) {
            if (inUse && img.refs.length === 1 && !o.force) {
              throw new UserError(`conflict: unable to remove repository reference "${n}" (must force) - container ${inUse[0]} is using its referenced image ${img.configDigest.slice(7, 19)}`);
            }
            const r = await store.untag(tag);
            out(`Untagged: ${tag}\n`);
            if (r?.lastRef) out(`Deleted: ${img.configDigest}\n`);
            continue;
          }
          if (inUse && !o.force) {
            throw new UserError(`conflict: unable to delete ${img.configDigest.slice(7, 19)} (must be forced) - image is being used by container ${inUse[0]}`);
          }
          if (img.refs.length > 1 && !o.force) {
            throw new UserError(`conflict: unable to delete ${img.configDigest.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
          }
          const refs = await store.removeImage(img.manifestDigest);
          for (const r of refs) out(`Untagged: ${r}\n`);
          out(`Deleted: ${img.configDigest}\n`);
        } catch (e) {
          if (!(e instanceof UserError) || names.length === 1) throw e;
          process.stderr.write(`${e.message}\n`);
          failed = true;
        }
      }
      await store.gc();
      if (failed) process.exitCode = 1;
    });

  program
    .command('inspect')
    .description('Show low-level information about images (docker-style JSON)')
    .argument('<image...>', 'images by name or ID')
    .option('-f, --format <template>', 'Go-template subset: {{.Id}}, {{json .Config}}, {{index .Config.Labels "k"}}')
    .action(async (names: string[], o: { format?: string }) => {
      const store = await Store.open();
      const recs = await store.listImages();
      const objs: Record<string, unknown>[] = [];
      for (const n of names) {
        const img = await store.requireImage(n);
        const sizes: number[] = [];
        for (const l of img.manifest.layers) sizes.push((await store.layerInfo(l)).contentSize);
        const manifestSize = (await store.readBlob(img.manifestDigest)).length;
        objs.push(image.inspectObject({ img, record: recs.find((r) => r.manifestDigest === img.manifestDigest), layerSizes: sizes, manifestSize }));
      }
      if (o.format) {
        for (const x of objs) {
          try {
            out(`${image.goTemplate(o.format, x)}\n`);
          } catch (e) {
            throw new UserError((e as Error).message);
          }
        }
      } else out(`${JSON.stringify(objs, null, 4)}\n`);
    });

  program
    .command('history')
    .description('Show the history of an image (CREATED BY and SIZE per layer)')
    .argument('<image>', 'image by name or ID')
    .option('--no-trunc', 'do not truncate output')
    .option('-q, --quiet', 'only image IDs')
    .option('-H, --human [bool]', 'human-readable sizes and dates', 'true')
    .option('--format <format>', 'table or json', 'table')
    .action(async (name: string, o: { trunc: boolean; quiet?: boolean; human: string; format: string }) => {
      const store = await Store.open();
      const img = await store.requireImage(name);
      const sizes: number[] = [];
      for (const l of img.manifest.layers) sizes.push((await store.layerInfo(l)).contentSize);
      const rows = image.historyRows(img, sizes);
      if (o.format === 'json') {
        out(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      out(image.formatHistory(rows, { noTrunc: !o.trunc, quiet: o.quiet, human: o.human !== 'false' }));
    });

  const system = program.command('system').description('Manage the local store');
  system
    .command('df')
    .description('Show store disk usage')
    .option('--format <format>', 'table or json', 'table')
    .action(async (o: { format: string }) => {
      const store = await Store.open();
      const rows = await diskUsage(store);
      if (o.format === 'json') {
        out(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const pct = (r: number, s: number): string => (s > 0 ? ` (${Math.round((r / s) * 100)}%)` : '');
      out(
        image.tabulate([
          ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
          ...rows.map((r) => [r.type, String(r.total), String(r.active), image.humanSize(r.size), `${image.humanSize(r.reclaimable)}${pct(r.reclaimable, r.size)}`]),
        ]),
      );
    });
  system
    .command('prune')
    .description('Remove dangling images, unreferenced blobs and snapshots, stale temp files')
    .option('-f, --force', 'do not prompt (stagecraft never prompts)')
    .action(async () => {
      const store = await Store.open();
      const r = await prune(store);
      for (const i of r.images) out(`deleted: ${i}\n`);
      if (r.busy) out('another stagecraft process is writing to the store: unreferenced blobs were kept\n');
      out(`Deleted ${r.blobs} blobs, ${r.snapshots} snapshots, ${r.temps} temp files\nTotal reclaimed space: ${image.humanSize(r.bytes)}\n`);
    });
  system
    .command('fsck')
    .description('Verify every blob and reference in the store; remove temp files of dead processes')
    .action(async () => {
      const store = await Store.open();
      const r = await fsck(store);
      for (const t of r.removedTemps) out(`removed stale temp file ${t}\n`);
      for (const p of r.problems) out(`problem: ${p}\n`);
      if (r.problems.length) throw new UserError(`store ${store.root}: ${r.problems.length} problem(s) found`);
      out(`store ${store.root} is clean: ${r.blobs} blobs, ${r.images} images\n`);
    });
}
