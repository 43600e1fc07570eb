/**
 * What the image format code needs from a content store: the contract `src/store`'s `Store`
 * fulfils (structurally). image/ depends on this interface, store/ depends on image/ — never the
 * other way round. Also the data shapes both sides speak: a resolved image, a layer's sizes, and
 * the chain ID of a layer stack (OCI image-spec).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Descriptor, ImageConfig, ImageManifest } from './types.js';

export interface ResolvedImage {
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
  refs: string[];
}

export interface LayerInfo {
  digest: string;
  diffId: string;
  /** uncompressed tar size */
  size: number;
  /** docker's layer size: bytes of the unpacked files (symlink = target length, hard links once) */
  contentSize: number;
  /**
   * a layer the builder made and kept only as a snapshot (uncompressed, digest = diffID): the
   * chainID of the store snapshot its blob is made from when something reads it (Store.blobStream)
   */
  snapshot?: string;
}

/** OCI chain ID of a stack of layers (bottom→top diffIDs). */
export function chainIdOf(diffIds: string[]): string {
  let c = '';
  for (const d of diffIds) c = c === '' ? d : `sha256:${createHash('sha256').update(`${c} ${d}`).digest('hex')}`;
  return c;
}

export interface BlobStore {
  tmpDir(prefix?: string): Promise<string>;
  blobPath(digest: string): string;
  hasBlob(digest: string): boolean;
  readBlob(digest: string): Promise<Buffer>;
  /** the blob's bytes; a lazy layer blob (LayerInfo.snapshot) is made from its snapshot, verified */
  blobStream(digest: string): Readable;
  /** makes the file of a lazy layer blob (for readers of blobPath); no-op when it exists */
  ensureBlob(digest: string): Promise<void>;
  putBlob(data: Buffer | Readable | AsyncIterable<Buffer>, expect?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }>;
  putJson(obj: unknown, mediaType: string): Promise<Descriptor>;
  recordLayer(info: LayerInfo): Promise<void>;
  layerInfo(layer: Descriptor): Promise<LayerInfo>;
  putImage(manifest: ImageManifest, config: ImageConfig, refs: string[], raw?: { manifest?: Buffer; config?: Buffer }): Promise<Descriptor>;
  requireImage(refOrId: string): Promise<ResolvedImage>;
  /** a store-wide named lock (across processes) */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** the compressed variant of an uncompressed layer, by (compression, level) key (layer-export.ts) */
  layerVariant(diffId: string, key: string): Promise<Descriptor | undefined>;
  recordLayerVariant(diffId: string, key: string, d: Descriptor): Promise<void>;
}
