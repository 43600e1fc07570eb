/**
 * `import ROOTFS.tar [NAME:TAG] --change ...` (like `docker import`): a rootfs tarball (plain, gzip
 * or zstd) becomes a one-layer image. The tarball is validated first (a full read through the tar
 * reader), then stored as-is as a compressed layer with diffID/digest in one pass.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Store } from '../store/index.js';
import { normalizeTag } from '../store/refs.js';
import { UserError } from '../util/errors.js';
import { applyChange } from './changes.js';
import { decompress, type Compression } from './compress.js';
import { writeTarAsLayer } from './layer-write.js';
import { readTar, TarFormatError } from './tar.js';
import { hostPlatform, MediaType, type ContainerConfig, type ImageConfig, type ImageManifest } from './types.js';

export interface ImportOptions {
  changes?: string[];
  message?: string;
  compression?: Compression;
  platform?: { os: string; architecture: string; variant?: string };
}

async function validateTar(file: string): Promise<number> {
  let n = 0;
  try {
    for await (const e of readTar(decompress(createReadStream(file, { highWaterMark: 1 << 20 })))) {
      n++;
      for await (const _ of e.body) {
        /* skip data */
      }
    }
  } catch (e) {
    const m = (e as Error).message;
    if (e instanceof TarFormatError || /corrupt|header|unexpected end/i.test(m)) throw new UserError(`${file}: not a valid tar archive (${m})`);
    throw e;
  }
  return n;
}

/** Imports a rootfs tarball; returns the stored image's config digest (the image ID). */
export async function importRootfs(store: Store, file: string, ref: string | undefined, opts: ImportOptions = {}): Promise<{ id: string; manifestDigest: string }> {
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
  await validateTar(file);
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
