/**
 * Layers as they leave the machine. The store keeps the layers it builds uncompressed (OCI's
 * `application/vnd.oci.image.layer.v1.tar`: cheapest to write and to read back); push, save and
 * `--output` compress them here, once: the result is a blob in the store remembered by (diffID,
 * compression, level), so the next export of the same layer, and a second push of the same image,
 * give the same bytes and the same manifest digest without compressing again.
 *
 * A layer the builder kept only as a snapshot (a lazy blob, see Store.blobStream) is compressed
 * straight from the snapshot's tar: its uncompressed blob is never written.
 *
 * In: a manifest from the store and a `LayerCompression` (buildx's output options `compression`,
 * `compression-level`, `force-compression`). Out: the manifest to send (its bytes and digest; the
 * stored one, byte for byte, when no layer had to change) with every layer blob in the store.
 * As BuildKit: layers already compressed differently are kept unless `force`; diffIDs, the config
 * and so the image ID never change.
 */
import { createHash } from 'node:crypto';
import type { BlobStore as Store } from './store-api.js';
import { UserError } from '../util/errors.js';
import { compress, decompress } from './compress.js';
import { canonicalJson, MediaType, type Descriptor, type ImageManifest } from './types.js';

export type ExportCompressionKind = 'uncompressed' | 'gzip' | 'zstd';

export interface LayerCompression {
  compression: ExportCompressionKind;
  /** gzip 0-9 (default 6), zstd 1-22 (default 3) */
  level?: number;
  /** recompress layers that are already compressed differently */
  force?: boolean;
}

export const DEFAULT_EXPORT: LayerCompression = { compression: 'gzip' };

/**
 * buildx's output attributes → LayerCompression (undefined when none is given). Errors as
 * BuildKit words them.
 */
export function parseLayerCompression(kv: Record<string, string | undefined>): LayerCompression | undefined {
  const c = kv.compression;
  const l = kv['compression-level'];
  const f = kv['force-compression'];
  if (c === undefined && l === undefined && f === undefined) return undefined;
  const kind = (c ?? 'gzip').toLowerCase();
  if (kind === 'estargz') throw new UserError('unsupported layer compression type: estargz (stagecraft writes uncompressed, gzip or zstd)');
  if (kind !== 'uncompressed' && kind !== 'gzip' && kind !== 'zstd') throw new UserError(`unsupported layer compression type: ${c}`);
  const out: LayerCompression = { compression: kind };
  if (l !== undefined) {
    if (!/^-?[0-9]+$/.test(l)) throw new UserError(`non-int value ${l} specified for compression-level`);
    const n = Number(l);
    const [lo, hi] = kind === 'zstd' ? [1, 22] : [0, 9];
    if (kind !== 'uncompressed' && (n < lo || n > hi)) throw new UserError(`compression-level ${n} is out of range for ${kind} (${lo}-${hi})`);
    out.level = n;
  }
  if (f !== undefined) {
    if (!/^(true|false|1|0)$/i.test(f)) throw new UserError(`non-bool value ${f} specified for force-compression`);
    out.force = /^(true|1)$/i.test(f);
  }
  return out;
}

/** The compression a layer descriptor says its blob has. */
export function layerCompressionOf(mediaType: string): ExportCompressionKind | 'other' {
  if (mediaType === MediaType.OciLayerTar || mediaType === MediaType.DockerLayerTar) return 'uncompressed';
  if (mediaType === MediaType.OciLayerGzip || mediaType === MediaType.DockerLayerGzip) return 'gzip';
  if (mediaType === MediaType.OciLayerZstd) return 'zstd';
  return 'other'; // foreign layers, non-distributable ones, artifacts: sent as they are
}

function mediaTypeFor(kind: ExportCompressionKind, dockerManifest: boolean): string {
  if (kind === 'uncompressed') return dockerManifest ? MediaType.DockerLayerTar : MediaType.OciLayerTar;
  if (kind === 'gzip') return dockerManifest ? MediaType.DockerLayerGzip : MediaType.OciLayerGzip;
  return MediaType.OciLayerZstd;
}

const levelOf = (c: LayerCompression): number => c.level ?? (c.compression === 'zstd' ? 3 : 6);

/**
 * The blob of `layer` (diffID `diffId`) compressed as `c`: from the variant record when there is one,
 * else compressed now (under a store lock, so concurrent exports compress it once).
 */
export async function exportLayer(store: Store, layer: Descriptor, diffId: string, c: LayerCompression, dockerManifest = false): Promise<Descriptor> {
  const have = layerCompressionOf(layer.mediaType);
  if (have === 'uncompressed' && c.compression === 'uncompressed') await store.ensureBlob(layer.digest); // a lazy blob leaves as a file
  if (have === 'other' || have === c.compression) return layer;
  if (have !== 'uncompressed' && !c.force) return layer;
  const level = levelOf(c);
  const key = c.compression === 'uncompressed' ? 'uncompressed' : `${c.compression}-${level}`;
  const withType = (d: Descriptor): Descriptor => {
    const out: Descriptor = { mediaType: mediaTypeFor(c.compression, dockerManifest), digest: d.digest, size: d.size };
    if (layer.annotations) out.annotations = layer.annotations;
    return out;
  };
  const known = await store.layerVariant(diffId, key);
  if (known) return withType(known);
  return store.withLock(`export-${diffId.slice(7)}-${key}`, async () => {
    const again = await store.layerVariant(diffId, key);
    if (again) return withType(again);
    const info = await store.layerInfo(layer);
    const tar = decompress(store.blobStream(layer.digest));
    const kind = c.compression === 'uncompressed' ? 'none' : c.compression;
    const { digest, size } = await store.putBlob(compress(tar, kind, { level }));
    await store.recordLayer({ digest, diffId, size: info.size, contentSize: info.contentSize });
    const d: Descriptor = { mediaType: mediaTypeFor(c.compression, dockerManifest), digest, size };
    await store.recordLayerVariant(diffId, key, d);
    return withType(d);
  });
}

export interface ExportedManifest {
  manifest: ImageManifest;
  bytes: Buffer;
  digest: string;
  /** false: the stored manifest as it is */
  changed: boolean;
}

/**
 * The manifest an image leaves the machine with (see module comment). `stored` = the stored
 * manifest's bytes; the result's blob is in the store too.
 */
export async function exportManifest(store: Store, manifest: ImageManifest, diffIds: string[], stored: Buffer, c: LayerCompression = DEFAULT_EXPORT): Promise<ExportedManifest> {
  const docker = manifest.mediaType === MediaType.DockerManifest;
  const layers: Descriptor[] = [];
  let changed = false;
  for (const [i, l] of manifest.layers.entries()) {
    const diffId = diffIds[i];
    if (diffId === undefined) throw new UserError(`layer ${i} (${l.digest}) has no diffID in the image config`);
    const e = await exportLayer(store, l, diffId, c, docker);
    if (e.digest !== l.digest || e.mediaType !== l.mediaType) changed = true;
    layers.push(e);
  }
  if (!changed) return { manifest, bytes: stored, digest: `sha256:${createHash('sha256').update(stored).digest('hex')}`, changed: false };
  const m: ImageManifest = { schemaVersion: 2, mediaType: manifest.mediaType ?? MediaType.OciManifest, config: manifest.config, layers };
  if (manifest.artifactType) m.artifactType = manifest.artifactType;
  if (manifest.subject) m.subject = manifest.subject;
  if (manifest.annotations) m.annotations = manifest.annotations;
  const bytes = canonicalJson(m);
  const { digest } = await store.putBlob(bytes);
  return { manifest: m, bytes, digest, changed: true };
}
