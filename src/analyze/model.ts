/**
 * The image model that analysis works on: layers as lists of tar entries (with content hashes and
 * the text of the few small files rules need), plus where each layer came from (stage, Dockerfile
 * line, instruction, COPY --from source). Built by `load.ts` from a stored image; everything else in
 * this folder is pure over it.
 */
import type { HistoryEntry } from '../image/types.js';
import type { Attribution } from '../solver/attribution.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

export interface LayerEntry {
  /** Path inside the image without leading `/` or `./`, e.g. `usr/bin/node`. */
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname?: string;
  sha256?: string;
  /** Text of the files rules read (package.json, .npmrc, keys, package databases...). */
  content?: string;
  /** Go build info blob of an ELF executable (see goinfo.ts), latin1. */
  goBuildInfo?: string;
  /** The bytes of a binary package database (rpm's sqlite / Berkeley DB / ndb, see rpmdb.ts). */
  data?: Buffer;
}

/** Where a layer came from, as recorded by `stagecraft build` (one definition: the solver's). */
export type { Attribution };

export interface LayerModel {
  index: number;
  digest: string;
  diffId: string;
  /** Compressed size of the blob. */
  compressedSize: number;
  createdBy?: string;
  history?: HistoryEntry;
  attribution?: Attribution;
  entries: LayerEntry[];
}

export interface ImageModel {
  name: string;
  id: string;
  layers: LayerModel[];
  /** History entries without a layer (ENV, CMD...), in order. */
  history: HistoryEntry[];
  /** The image config's WorkingDir (where the application's own manifests are looked for). */
  workingDir?: string;
}
