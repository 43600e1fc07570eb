/**
 * The part of the store's API the registry client uses, as a structural type (so the client can
 * be exercised with any object that behaves like the store).
 */
import type { Readable } from 'node:stream';
import type { Descriptor, ImageConfig, ImageManifest } from '../image/types.js';

export interface StoreResolvedImage {
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
  refs: string[];
}

export interface RegistryStore {
  root: string;
  hasBlob(digest: string): boolean | Promise<boolean>;
  blobPath(digest: string): string;
  readBlob(digest: string): Promise<Buffer>;
  putBlob(data: Buffer | Readable, expect?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }>;
  putImage(manifest: ImageManifest, config: ImageConfig, refs: string[], raw?: { manifest?: Buffer; config?: Buffer }): Promise<Descriptor>;
  resolveImage(refOrId: string): Promise<StoreResolvedImage | undefined>;
  tmpDir?(): Promise<string>;
  dirs?: { cache: string };
}
