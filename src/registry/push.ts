/**
 * Push: an image in the local store in, the same bytes in a registry out (same manifest digest).
 *
 * For each blob (config, then layers, 3 at a time): HEAD first — present blobs are skipped; then a
 * cross-repository mount is tried from repositories of the same registry the blob is known to
 * live in (recorded by earlier pulls/pushes); otherwise it is uploaded, monolithically or in
 * PATCH chunks when larger than `chunkSize` (default 32 MiB, `STAGECRAFT_PUSH_CHUNK_SIZE`).
 * Finally the stored manifest bytes are PUT under the tag. Pushing again uploads nothing.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { UserError } from '../util/errors.js';
import { MediaType, canonicalJson, toOciManifest, type Descriptor } from '../image/types.js';
import { RegistryClient, pushScope, type ClientOptions } from './client.js';
import { parseReference, type Reference } from '../reference/reference.js';
import { silentProgress, type ProgressSink } from './progress.js';
import { mapLimit } from './pull.js';
import { blobSources, recordBlobSource } from './sources.js';
import type { Store } from '../store/index.js';

export interface PushOptions extends ClientOptions {
  progress?: ProgressSink;
  /** Bytes per PATCH; blobs not larger than this go up in one PUT. */
  chunkSize?: number;
  concurrency?: number;
  /** Extra repositories (same registry) to try mounting blobs from. */
  mountFrom?: string[];
}

export interface PushResult {
  ref: Reference;
  digest: string;
  size: number;
  uploaded: number;
  mounted: number;
  existing: number;
}

/** Pushes `localRef` from the store to `remoteRef` (default: the same name). */
export async function pushImage(store: Store, localRef: string, remoteRef?: string, opts: PushOptions = {}): Promise<PushResult> {
  const image = await store.resolveImage(localRef);
  if (!image) throw new UserError(`An image does not exist locally with the tag: ${localRef}`);
  const ref = parseReference(remoteRef ?? localRef);
  if (ref.digest && !ref.tag) throw new UserError(`cannot push to a digest reference: ${ref.familiar}`);
  if (ref.digest) throw new UserError(`cannot push to a reference with both a tag and a digest: ${ref.familiar}`);
  const progress = opts.progress ?? silentProgress;
  const client = RegistryClient.for(ref.registry, opts);
  const repo = ref.repository;
  const chunkSize = opts.chunkSize ?? Number(process.env.STAGECRAFT_PUSH_CHUNK_SIZE ?? 32 * 1024 * 1024);
  const mediaType = image.manifest.mediaType ?? MediaType.OciManifest;
  // an OCI manifest goes out with OCI layer types only (older builds listed a Docker base's
  // layer types in it, which OCI tools reject): the same blobs under a corrected manifest
  const manifest = mediaType === MediaType.OciManifest ? toOciManifest(image.manifest) : image.manifest;
  const manifestBytes = manifest === image.manifest ? await store.readBlob(image.manifestDigest) : canonicalJson(manifest);
  const manifestDigest = manifest === image.manifest ? image.manifestDigest : `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
  let uploaded = 0;
  let mounted = 0;
  let existing = 0;

  progress.note(`The push refers to repository [${ref.name}]`);
  const pushBlob = async (d: Descriptor, isConfig: boolean): Promise<void> => {
    const show = !isConfig;
    if (await client.hasBlob(repo, d.digest, [pushScope(repo)])) {
      existing++;
      if (show) progress.status(d.digest, 'Layer already exists');
      return;
    }
    if (!(await store.hasBlob(d.digest))) {
      if (d.mediaType === MediaType.DockerForeignLayerGzip) return; // foreign layers stay where they are
      throw new UserError(`${localRef}: blob ${d.digest} is missing from the local store (run fsck)`);
    }
    const sources = [...(opts.mountFrom ?? []), ...(await blobSources(store, ref.registry, repo, d.digest))];
    for (const from of [...new Set(sources)].filter((s) => s !== repo)) {
      if (await client.mountBlob(repo, d.digest, from).catch(() => false)) {
        mounted++;
        if (show) progress.status(d.digest, `Mounted from ${from}`);
        return;
      }
    }
    if (show) progress.begin(d.digest, d.size, 'Uploading');
    const path = store.blobPath(d.digest);
    await client.uploadBlob(repo, d, (start, end) => createReadStream(path, { start, end }), {
      chunkSize,
      onProgress: show ? (n) => progress.update(d.digest, n) : undefined,
    });
    uploaded++;
    if (show) progress.status(d.digest, 'Pushed');
  };
  try {
    const unique = [...new Map(manifest.layers.map((l) => [l.digest, l])).values()]; // identical layers go up once
    await mapLimit(unique, opts.concurrency ?? 3, (l) => pushBlob(l, false));
    await pushBlob(manifest.config, true);
    const digest = await client.putManifest(repo, ref.tag ?? 'latest', manifestBytes, mediaType);
    if (digest !== manifestDigest) throw new UserError(`manifest digest changed on push: ${digest} != ${manifestDigest}`);
    await recordBlobSource(store, ref.registry, repo, [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]).catch(() => {});
    progress.note(`${ref.tag}: digest: ${digest} size: ${manifestBytes.length}`);
    return { ref, digest, size: manifestBytes.length, uploaded, mounted, existing };
  } finally {
    progress.close();
  }
}
