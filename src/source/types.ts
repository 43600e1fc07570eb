/**
 * The image-source interface (what dive's resolver is): an image named by the user, wherever it
 * lives, read without importing it into the store. `read(visit)` streams every layer blob of the
 * image through `visit` exactly once (compressed or not, as stored) and returns the image's
 * manifest and config with the visits' results in layer order.
 */
import type { ImageConfig, ImageManifest } from '../image/types.js';

export type SourceKind = 'store' | 'docker-archive' | 'oci-archive' | 'oci' | 'docker-daemon' | 'registry';

export interface SourceImage {
  /** the name to show: the image's reference when it has one, else what the user typed */
  name: string;
  refs: string[];
  /** digest of the manifest (for docker-archives without one: of the manifest made from manifest.json) */
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
}

/** Consumes one layer blob (as stored: gzip, zstd or plain tar). It need not read to the end. */
export type LayerVisitor<T> = (blob: AsyncIterable<Buffer>) => Promise<T>;

export interface ImageSource {
  readonly kind: SourceKind;
  /** what the user typed */
  readonly spec: string;
  read<T>(visit: LayerVisitor<T>): Promise<{ image: SourceImage; layers: T[] }>;
}
