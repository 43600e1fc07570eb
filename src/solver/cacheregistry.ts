/**
 * The build cache's `type=registry` transport: `--cache-to type=registry,ref=R[,mode=min|max]` and
 * `--cache-from type=registry,ref=R` (a bare `--cache-from R` too, as in buildx). In: the records a
 * build used and their layer blobs in the store. Out: one OCI artifact in the registry under R —
 * an image manifest whose `config` is the record blob of the `type=local` export (media type
 * CACHE_MEDIA_TYPE, also the manifest's `artifactType`) and whose `layers` are the layer blobs the
 * records point at, the shape BuildKit's own registry cache has (config = cache config, layers =
 * blobs), so any distribution registry stores it. Auth is the registry client's: docker's config
 * file and credential helpers, tokens. Import reads the manifest and the record blob up front and
 * fetches a layer blob only when a step hits its record; every blob is verified (digest, size)
 * before it is stored. An unreachable registry, a missing or foreign tag, a corrupt blob: a
 * one-line warning and a normal build, never a failed one.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { MediaType, type Descriptor, type ImageManifest } from '../image/types.js';
import { parseReference, RegistryClient, type Reference } from '../registry/index.js';
import type { Store } from '../store/index.js';
import { CACHE_MEDIA_TYPE, ImportedCache, parseRecordBlob, recordBlob, type ExportedRecord } from './cacheio.js';

function target(refText: string, insecure?: boolean): { ref: Reference; client: RegistryClient; repo: string; tag: string } {
  const ref = parseReference(refText);
  const client = RegistryClient.for(ref.registry, insecure ? { insecureRegistries: [ref.registry] } : {});
  return { ref, client, repo: ref.repository, tag: ref.digest ?? ref.tag ?? 'latest' };
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

/** Downloads one blob of `repo` into the store (through a temp file; verified twice). */
async function fetchInto(client: RegistryClient, repo: string, store: Store, d: Descriptor): Promise<void> {
  const dir = await store.tmpDir('cache-import-');
  try {
    const file = join(dir, 'blob');
    await client.downloadBlob(repo, d, file);
    await store.putBlob(createReadStream(file), { digest: d.digest, size: d.size });
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Reads the cache artifact at `refText`: its manifest and record blob (verified). Throws with the reason. */
export async function openRegistryCache(refText: string, insecure?: boolean): Promise<ImportedCache> {
  const { ref, client, repo, tag } = target(refText, insecure);
  const m = await client.getManifest(repo, tag, ref.familiar);
  if (m.mediaType !== MediaType.OciManifest) throw new Error(`${ref.familiar} is not a stagecraft build cache (${m.mediaType})`);
  const manifest = JSON.parse(m.bytes.toString('utf8')) as ImageManifest;
  if (manifest.config?.mediaType !== CACHE_MEDIA_TYPE) {
    throw new Error(`${ref.familiar} is not a stagecraft build cache (config ${manifest.config?.mediaType ?? 'missing'})`);
  }
  if (!Number.isSafeInteger(manifest.config.size) || manifest.config.size > 64 * 1024 * 1024) throw new Error(`${ref.familiar}: cache record blob too large`);
  const dir = await mkdtemp(join(tmpdir(), 'stagecraft-cache-'));
  let raw: Buffer;
  try {
    await client.downloadBlob(repo, manifest.config, join(dir, 'records'));
    raw = await readFile(join(dir, 'records'));
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  const records = parseRecordBlob(raw, manifest.config.digest);
  return new ImportedCache(`registry cache import from ${ref.familiar}`, records, (store, d) => fetchInto(client, repo, store, d));
}

/** Opens a --cache-from registry ref; an unusable one is a one-line warning, not an error. */
export async function openRegistryImport(refText: string, insecure: boolean | undefined, warn: (line: string) => void): Promise<ImportedCache | undefined> {
  try {
    return await openRegistryCache(refText, insecure);
  } catch (e) {
    warn(`WARNING: registry cache import from ${refText} failed: ${errText(e)}`);
    return undefined;
  }
}

/** Runs `fn` over `items`, `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

/**
 * Pushes `records` as the cache artifact `refText`: the layer blobs the registry lacks, the record
 * blob, then the manifest under the tag. `status` gets BuildKit's progress lines.
 */
export async function exportRegistryCache(
  store: Store,
  refText: string,
  insecure: boolean | undefined,
  records: Map<string, ExportedRecord>,
  status: (line: string) => void,
): Promise<{ manifestDigest: string; uploaded: number }> {
  const { ref, client, repo, tag } = target(refText, insecure);
  if (ref.digest) throw new Error(`cannot push a cache to a digest reference: ${ref.familiar}`);
  const scopes = [`repository:${repo}:pull,push`];
  const blob = recordBlob(records);
  const layers = [...new Map(blob.sorted.map(([, r]) => [r.descriptor.digest, r.descriptor])).values()].sort((a, b) => (a.digest < b.digest ? -1 : 1));
  let uploaded = 0;
  const put = async (d: Descriptor, open: (start: number, end: number) => Readable, what: string): Promise<void> => {
    if (await client.hasBlob(repo, d.digest, scopes)) return;
    await client.uploadBlob(repo, d, open);
    uploaded++;
    status(`writing ${what} ${d.digest} done`);
  };
  await pool(layers, 3, async (d) => {
    if (!store.hasBlob(d.digest)) throw new Error(`layer blob ${d.digest} is not in the store`);
    await put(d, (start, end) => createReadStream(store.blobPath(d.digest), { start, end }), 'layer');
  });
  await put(blob.descriptor, (start, end) => Readable.from([blob.bytes.subarray(start, end + 1)]), 'config');
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: CACHE_MEDIA_TYPE,
    config: blob.descriptor,
    layers: layers.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = await client.putManifest(repo, tag, bytes, MediaType.OciManifest);
  status(`writing cache manifest ${manifestDigest} done`);
  return { manifestDigest, uploaded };
}
