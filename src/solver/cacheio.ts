/**
 * The build cache's export format and its `type=local` transport, like buildx's local cache
 * exporter: `--cache-to type=local,dest=DIR[,mode=min|max]` / `--cache-from type=local,src=DIR`.
 * DIR is an OCI image layout (oci-layout, index.json, blobs/sha256) whose index points at one JSON
 * blob (media type CACHE_MEDIA_TYPE) mapping cache key → {layer descriptor, diffID, time made}; the
 * layer blobs sit next to it. The record format is stagecraft's own (not BuildKit's cache format);
 * `cacheregistry.ts` carries the same record blob and layer blobs to a registry. Import trusts
 * nothing: only digest-named blobs are read and every blob is verified by the store's blob write
 * before it is used. The `--cache-to` / `--cache-from` flag values are parsed in options.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Descriptor } from '../image/types.js';
import { MediaType } from '../image/types.js';
import { writeFileAtomic, type Store } from '../store/index.js';
import { UserError } from '../util/errors.js';
import type { CacheFromSpec, CacheToSpec } from './options.js';

export type { CacheFromSpec, CacheToSpec };

export const CACHE_MEDIA_TYPE = 'application/vnd.stagecraft.buildcache.v1+json';

export interface ExportedRecord {
  descriptor: Descriptor;
  diffId: string;
  /** when the step made the layer: a build from this cache gets the same history times (and ID) */
  created?: string;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const LAYER_TYPES: string[] = [MediaType.OciLayerTar, MediaType.OciLayerGzip, MediaType.OciLayerZstd, MediaType.DockerLayerGzip];

/** Where a cache goes or comes from, for progress and warnings: the dir or the registry reference. */
export function cacheLocation(spec: CacheToSpec | CacheFromSpec): string {
  if (spec.type === 'registry') return spec.ref;
  return 'dest' in spec ? spec.dest : spec.src;
}

function blobFile(dir: string, digest: string): string {
  if (!DIGEST_RE.test(digest)) throw new Error(`invalid digest ${JSON.stringify(digest)}`);
  return join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

function isDescriptor(d: unknown): d is Descriptor {
  const x = d as Descriptor;
  return !!x && typeof x === 'object' && typeof x.mediaType === 'string' && DIGEST_RE.test(x.digest) && Number.isSafeInteger(x.size) && x.size >= 0;
}

/** The record blob (the JSON doc) once verified → its records; malformed entries are skipped. */
export function parseRecordBlob(raw: Buffer, digest: string): Map<string, ExportedRecord> {
  const got = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  if (got !== digest) throw new Error(`digest mismatch for ${digest}: got ${got}`);
  let doc: { records?: Record<string, unknown> };
  try {
    doc = JSON.parse(raw.toString('utf8')) as { records?: Record<string, unknown> };
  } catch {
    throw new Error(`cache record blob ${digest} is not JSON`);
  }
  const records = new Map<string, ExportedRecord>();
  for (const [k, v] of Object.entries(doc.records ?? {})) {
    const r = v as ExportedRecord;
    if (!DIGEST_RE.test(k) || !r || !isDescriptor(r.descriptor) || !LAYER_TYPES.includes(r.descriptor.mediaType) || !DIGEST_RE.test(r.diffId)) continue;
    const created = typeof r.created === 'string' && Number.isFinite(Date.parse(r.created)) ? r.created : undefined;
    records.set(k, { descriptor: { mediaType: r.descriptor.mediaType, digest: r.descriptor.digest, size: r.descriptor.size }, diffId: r.diffId, created });
  }
  return records;
}

/** The record blob (the JSON doc) for `records`, keys sorted: the same records give the same bytes. */
export function recordBlob(records: Map<string, ExportedRecord>): { bytes: Buffer; descriptor: Descriptor; sorted: Array<[string, ExportedRecord]> } {
  const sorted = [...records.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const bytes = Buffer.from(JSON.stringify({ records: Object.fromEntries(sorted) }));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return { bytes, descriptor: { mediaType: CACHE_MEDIA_TYPE, digest, size: bytes.length }, sorted };
}

/** Brings a record's layer blob into the store (the store's blob write verifies digest and size). */
export type BlobFetcher = (store: Store, d: Descriptor) => Promise<void>;

/** A --cache-from source once read (a dir or a registry artifact): its records, and how to bring one's blob into the store. */
export class ImportedCache {
  constructor(
    /** for warnings: `local cache import at DIR` / `registry cache import from REF` */
    readonly label: string,
    private records: Map<string, ExportedRecord>,
    private fetchBlob: BlobFetcher,
  ) {}

  /** Reads DIR's index and record blob (verified); throws with the reason when DIR is unusable. */
  static async open(dir: string): Promise<ImportedCache> {
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests?: unknown };
    const m = Array.isArray(index.manifests) ? (index.manifests as unknown[]).find((d) => isDescriptor(d) && d.mediaType === CACHE_MEDIA_TYPE) : undefined;
    if (!isDescriptor(m)) throw new Error(`no ${CACHE_MEDIA_TYPE} in ${join(dir, 'index.json')}`);
    const records = parseRecordBlob(await readFile(blobFile(dir, m.digest)), m.digest);
    return new ImportedCache(`local cache import at ${dir}`, records, async (store, d) => {
      await store.putBlob(createReadStream(blobFile(dir, d.digest)), { digest: d.digest, size: d.size });
    });
  }

  has(key: string): boolean {
    return this.records.has(key);
  }

  get size(): number {
    return this.records.size;
  }

  /** Copies the record's blob into the store (verified by digest and size) and returns the record. */
  async fetch(store: Store, key: string): Promise<ExportedRecord | undefined> {
    const r = this.records.get(key);
    if (!r) return undefined;
    if (!store.hasBlob(r.descriptor.digest)) await this.fetchBlob(store, r.descriptor);
    return r;
  }
}

/** Opens a --cache-from dir; an unusable one is a one-line warning (like buildx), not an error. */
export async function openLocalImport(src: string, warn: (line: string) => void): Promise<ImportedCache | undefined> {
  try {
    return await ImportedCache.open(src);
  } catch (e) {
    const msg = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `open ${join(src, 'index.json')}: no such file or directory` : e instanceof Error ? e.message : String(e);
    warn(`WARNING: local cache import at ${src} not found due to err: ${msg}`);
    return undefined;
  }
}

/**
 * Writes `records` (and their layer blobs, taken from the store) to DIR as an OCI layout. Each
 * file is written to a temp name and renamed, index.json last: a failed export leaves the previous
 * index (and its blobs) intact; blobs already in DIR are kept.
 */
export async function exportCache(store: Store, dest: string, records: Map<string, ExportedRecord>): Promise<void> {
  const blobs = join(dest, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (digest: string, size: number, copy: (tmp: string) => Promise<void>): Promise<void> => {
    const f = blobFile(dest, digest);
    const st = await stat(f).catch(() => undefined);
    if (st?.isFile() && st.size === size) return;
    const tmp = `${f}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await copy(tmp);
      await rename(tmp, f);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  };
  const blob = recordBlob(records);
  for (const [, r] of blob.sorted) {
    if (!store.hasBlob(r.descriptor.digest)) throw new Error(`cache export: layer blob ${r.descriptor.digest} is not in the store`);
    await put(r.descriptor.digest, r.descriptor.size, (tmp) => copyFile(store.blobPath(r.descriptor.digest), tmp));
  }
  const { bytes: doc, descriptor: { digest } } = blob;
  await put(digest, doc.length, (tmp) => writeFile(tmp, doc));
  await writeFileAtomic(join(dest, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ mediaType: CACHE_MEDIA_TYPE, digest, size: doc.length }] };
  await writeFileAtomic(join(dest, 'index.json'), JSON.stringify(index));
}
