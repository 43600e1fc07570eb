/**
 * The build cache's records: cache key → the layer a step produced (descriptor + diffID). Stored
 * as small JSON files under `<store root>/buildcache/` (the store's writeFileAtomic: temp file in the
 * store's tmp/, fsync, rename, directory fsync; a power cut leaves the old record or the whole new
 * one, never an empty file that a later build would take for a hit), so a cache hit needs no
 * work but a lookup; a record whose blob (or snapshot, for a lazy blob) is gone is a miss. A built
 * step's layer is a lazy blob: its diffID, and a snapshot the store makes the blob from when it is
 * read (see engine.ts `lazyLayer`). Writing a record happens only after the layer is measured and
 * recorded in the store, so a failed build leaves no dangling record.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Descriptor } from '../image/types.js';
import { writeFileAtomic, type Store } from '../store/index.js';

export interface CacheRecord {
  /** absent in records of older builds for a layer of a stage that was not exported: only its diffID and snapshot exist */
  descriptor?: Descriptor;
  diffId: string;
  created: string;
}

export class BuildCache {
  readonly dir: string;
  private readonly tmpDir: string;
  constructor(store: Pick<Store, 'root' | 'dirs'>) {
    this.dir = join(store.root, 'buildcache');
    this.tmpDir = store.dirs.tmp;
  }

  private file(key: string): string {
    return join(this.dir, `${key.replace(/^sha256:/, '')}.json`);
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.file(key), 'utf8')) as CacheRecord;
    } catch {
      return undefined;
    }
  }

  async put(key: string, rec: CacheRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.file(key), JSON.stringify(rec), this.tmpDir);
  }
}
