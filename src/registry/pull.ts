/**
 * Pull: a reference in, an image in the local store out (manifest, config and layers, each
 * digest-verified before the store sees it; blobs already stored are not fetched again).
 *
 * Reads OCI indexes/manifests and Docker schema2 lists/manifests. From an index the entry for the
 * requested platform (default: the host's) is chosen; the platform image is stored with its exact
 * manifest bytes, so its digest is the registry's. Layers download concurrently (3 at a time, as
 * docker) into the store's temp dir, then enter the store through `putBlob` with the expected
 * digest and size (the store verifies again).
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { isIndexMediaType, MediaType, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type Platform } from '../image/types.js';
import { hostPlatform } from '../image/types.js';
import { RegistryClient, shortDigest, type ClientOptions } from './client.js';
import { parseReference, type Reference } from '../reference/reference.js';
import { formatPlatform, normalizePlatform, parsePlatform, platformMatches, selectManifest } from '../reference/platform.js';
import { silentProgress, type ProgressSink } from './progress.js';
import { recordBlobSource } from './sources.js';
import type { Store, ResolvedImage } from '../store/index.js';

export interface PullOptions extends ClientOptions {
  /** `os/arch[/variant]` or a Platform; default the host's. */
  platform?: Platform | string;
  progress?: ProgressSink;
  /** Concurrent blob downloads (default 3). */
  concurrency?: number;
}

export interface PullResult {
  image: ResolvedImage;
  ref: Reference;
  manifestDigest: string;
  /** digest of the index/list when the reference named one */
  indexDigest?: string;
  downloaded: number;
  existing: number;
}

/** Runs `fn` over `items` with at most `n` in flight; the first failure rejects (others finish). */
export async function mapLimit<T, R>(items: T[], n: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: { e: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (failed) throw failed.e;
  return out;
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new UserError(`${what} is not valid JSON`);
  }
}

/** Pulls `ref` into `store` and returns the stored image (see PullResult for details). */
export async function pull(store: Store, refText: string | Reference, opts: PullOptions = {}): Promise<PullResult> {
  const ref = typeof refText === 'string' ? parseReference(refText) : refText;
  const progress = opts.progress ?? silentProgress;
  const explicitPlatform = opts.platform !== undefined;
  const want = normalizePlatform(typeof opts.platform === 'string' ? parsePlatform(opts.platform) : (opts.platform ?? hostPlatform()));
  const client = RegistryClient.for(ref.registry, opts);
  const repo = ref.repository;

  progress.note(`${ref.tag && !ref.digest ? ref.tag : (ref.digest ?? '')}: Pulling from ${ref.registry === 'docker.io' ? repo : `${ref.registry}/${repo}`}`);
  let top = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest', ref.familiar);
  let indexDigest: string | undefined;
  if (isIndexMediaType(top.mediaType)) {
    indexDigest = top.digest;
    const index = parseJson<ImageIndex>(top.bytes, `index ${top.digest}`);
    if (!Array.isArray(index.manifests)) throw new UserError(`index ${top.digest} has no manifests`);
    const chosen = selectManifest(index.manifests, want);
    if (isIndexMediaType(chosen.mediaType)) throw new UserError(`${ref.familiar}: nested image indexes are not supported`);
    top = await client.getManifest(repo, chosen.digest, `${ref.familiar} (${formatPlatform(want)})`);
  }
  if (top.mediaType !== MediaType.OciManifest && top.mediaType !== MediaType.DockerManifest) {
    throw new UserError(`${ref.familiar}: unsupported manifest media type ${top.mediaType}`);
  }
  const manifest = parseJson<ImageManifest>(top.bytes, `manifest ${top.digest}`);
  if (!manifest.config?.digest || !Array.isArray(manifest.layers)) throw new UserError(`manifest ${top.digest} is missing config or layers`);

  const tmpBase = await store.tmpDir('pull');
  let downloaded = 0;
  let existing = 0;
  try {
    // the same digest can appear twice in one manifest (identical layers): fetch it once
    const inflight = new Map<string, Promise<void>>();
    const fetchBlob = (d: Descriptor, isConfig: boolean): Promise<void> => {
      let p = inflight.get(d.digest);
      if (!p) inflight.set(d.digest, (p = fetchOne(d, isConfig)));
      return p;
    };
    const fetchOne = async (d: Descriptor, isConfig: boolean): Promise<void> => {
      if (await store.hasBlob(d.digest)) {
        existing++;
        if (!isConfig) progress.status(d.digest, 'Already exists');
        return;
      }
      if (d.urls?.length && d.mediaType === MediaType.DockerForeignLayerGzip) {
        throw new UserError(`${ref.familiar}: foreign layer ${shortDigest(d.digest)} (${d.urls[0]}) is not distributable; not supported`);
      }
      const file = join(tmpBase, `blob-${d.digest.replace(':', '-')}`);
      if (!isConfig) progress.begin(d.digest, d.size, 'Downloading');
      await client.downloadBlob(
        repo,
        d,
        file,
        isConfig ? undefined : (n) => progress.update(d.digest, n),
        isConfig ? undefined : (why) => progress.status(d.digest, `Retrying: ${why}`),
      );
      if (!isConfig) progress.status(d.digest, 'Verifying Checksum');
      await store.putBlob(createReadStream(file), { digest: d.digest, size: d.size });
      await rm(file, { force: true });
      downloaded++;
      if (!isConfig) progress.status(d.digest, 'Pull complete');
    };
    await fetchBlob(manifest.config, true);
    const configBytes = await store.readBlob(manifest.config.digest);
    const config = parseJson<ImageConfig>(configBytes, `config ${manifest.config.digest}`);
    if (config.os && config.architecture && !indexDigest) {
      const have = normalizePlatform({ os: config.os, architecture: config.architecture, variant: config.variant });
      if (!platformMatches(want, have)) {
        if (explicitPlatform) {
          throw new UserError(`image with reference ${ref.familiar} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(have)}`);
        }
        progress.note(`WARNING: the image's platform (${formatPlatform(have)}) does not match the host platform (${formatPlatform(want)})`);
      }
    }
    await mapLimit(manifest.layers, opts.concurrency ?? 3, (l) => fetchBlob(l, false));

    // the exact manifest and config bytes, so the stored image keeps the registry's digests
    const refs = ref.tag ? [ref.familiar.replace(/@.*$/, '')] : [];
    const desc = await store.putImage(manifest, config, refs, { manifest: top.bytes, config: configBytes });
    if (desc.digest !== top.digest) {
      throw new UserError(`store recorded ${ref.familiar} as ${desc.digest}, expected ${top.digest}`);
    }
    const image = await store.resolveImage(top.digest);
    if (!image) throw new UserError(`pulled ${ref.familiar} but the store cannot resolve ${top.digest}`);
    await recordBlobSource(store, ref.registry, repo, [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]).catch(() => {});
    progress.note(`Digest: ${indexDigest ?? top.digest}`);
    progress.note(`Status: ${downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${ref.familiar}`);
    return { image, ref, manifestDigest: top.digest, indexDigest, downloaded, existing };
  } finally {
    progress.close();
    await rm(tmpBase, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * The build engine's entry point: pulls `ref` (a FROM not in the store) and returns the stored
 * image as `store.resolveImage` would.
 */
export async function pullImage(store: Store, ref: string | Reference, opts: PullOptions = {}): Promise<ResolvedImage> {
  return (await pull(store, ref, opts)).image;
}
