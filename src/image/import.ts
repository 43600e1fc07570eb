/**
 * `import ROOTFS.tar [NAME:TAG] --change ...` (like `docker import`): a rootfs tarball (plain, gzip
 * or zstd) becomes a one-layer image. The tarball is validated first (a full read through the tar
 * reader), then stored as-is as a compressed layer with diffID/digest in one pass.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BlobStore as Store } from './store-api.js';
import { normalizeTag } from '../reference/index.js';
import { UserError } from '../util/errors.js';
import { applyChange } from './changes.js';
import { decompress, type Compression } from './compress.js';
import { checkEntry } from './layer-apply.js';
import { writeTarAsLayer } from './layer-write.js';
import { readTar, TarFormatError } from './tar.js';
import { hostPlatform, MediaType, type ContainerConfig, type ImageConfig, type ImageManifest } from './types.js';

export interface ImportOptions {
  changes?: string[];
  message?: string;
  compression?: Compression;
  platform?: { os: string; architecture: string; variant?: string };
  /** name used in messages (default: the file) */
  source?: string;
}

/**
 * Reads a whole (plain, gzip or zstd) tarball: a valid tar whose entries obey the extraction rules
 * (checkEntry), not empty. `links`: 'same-archive' for a one-layer rootfs, 'inside' for one layer of many.
 */
export async function validateTar(file: string, name = file, links: 'same-archive' | 'inside' = 'same-archive'): Promise<number> {
  let n = 0;
  const seen = new Map<string, string>();
  try {
    for await (const e of readTar(decompress(createReadStream(file, { highWaterMark: 1 << 20 })))) {
      n++;
      checkEntry(e, seen, links);
      for await (const _ of e.body) {
        /* skip data */
      }
    }
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${name}: ${e.message}`);
    const m = (e as Error).message;
    if (e instanceof TarFormatError || /corrupt|header|unexpected end/i.test(m)) throw new UserError(`${name}: not a valid tar archive (${m})`);
    throw e;
  }
  if (n === 0) throw new UserError(`${name}: not a valid tar archive (no entries)`);
  return n;
}

/** Imports a rootfs tarball ('-' = stdin); returns the stored image's config digest (the image ID). */
export async function importRootfs(store: Store, file: string, ref: string | undefined, opts: ImportOptions = {}): Promise<{ id: string; manifestDigest: string }> {
  if (file === '-') {
    if (ref) normalizeTag(ref);
    if (process.stdin.isTTY) throw new UserError('import: no input on stdin');
    const dir = await store.tmpDir('import-');
    try {
      const f = join(dir, 'rootfs');
      await pipeline(process.stdin, createWriteStream(f));
      return await importRootfs(store, f, ref, { ...opts, message: opts.message ?? 'Imported from -', source: '-' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  let st;
  try {
    st = await stat(file);
  } catch {
    throw new UserError(`${file}: no such file`);
  }
  if (!st.isFile()) throw new UserError(`${file}: not a regular file`);
  const tags = ref ? [normalizeTag(ref)] : [];
  const cfg: ContainerConfig = {};
  for (const c of opts.changes ?? []) applyChange(cfg, c);
  await validateTar(file, opts.source);
  const layer = await writeTarAsLayer(store, decompress(createReadStream(file, { highWaterMark: 1 << 20 })), { compression: opts.compression ?? 'gzip' });
  const created = new Date().toISOString();
  const p = opts.platform ?? hostPlatform();
  const config: ImageConfig = {
    created,
    architecture: p.architecture,
    os: p.os,
    ...(p.variant ? { variant: p.variant } : {}),
    config: cfg,
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created, created_by: '', comment: opts.message ?? `Imported from ${file === '-' ? '-' : file}` }],
  };
  const configDesc = await store.putJson(config, MediaType.OciConfig);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDesc, layers: [layer.descriptor] };
  const m = await store.putImage(manifest, config, tags);
  return { id: configDesc.digest, manifestDigest: m.digest };
}
