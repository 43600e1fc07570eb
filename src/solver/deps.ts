/**
 * The solver's adapter to the rest of the pipeline: store, layer writer, snapshotter, executor,
 * file operations, build context, registry. In: what the engine needs, in the engine's terms. Out:
 * calls into those modules' public index.ts. Kept in one file so a change in another module's API
 * is absorbed here. Also holds loading an image from an OCI layout directory
 * (`--build-context x=oci-layout://dir`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Store, chainIdOf, normalizeTag, type ResolvedImage } from '../store/index.js';
import { archiveManifest, type LayerCompression, measureLayer as imageMeasureLayer, packSnapshot as imagePackSnapshot, loadOciLayoutDir, writeImageArchive, Annotation, MediaType, type Descriptor, type Platform } from '../image/index.js';
import { mountOverlay as snapMount, type Mounted } from '../worker/snapshot/index.js';
import { privateScratch, runContainer as execRun, resolveUser as execResolveUser, type ExecSpec, type ExecResult, type Mount } from '../worker/exec/index.js';
export { defaultNetwork, type NetworkMode } from '../worker/exec/index.js';
import { copyFiles as fileopsCopy, type CopyOptions, type PathMatcher } from '../worker/fileops/index.js';
import { hashPaths, useMetaCache, type ContextDir } from '../worker/context/index.js';
import { parseReference, pullImage, pushImage } from '../registry/index.js';
import { UserError } from '../util/errors.js';

export type { Store, ResolvedImage, Mount, PathMatcher, Mounted, ExecSpec, ExecResult };

export function openStore(root?: string): Promise<Store> {
  return Store.open(root);
}

/** `busybox` → `docker.io/library/busybox:latest` */
export function fullRef(ref: string): string {
  return parseReference(ref).toString();
}

export async function pull(store: Store, ref: string, platform: Platform): Promise<ResolvedImage> {
  const img = await pullImage(store as never, ref, { platform });
  return img as ResolvedImage;
}

export async function push(store: Store, ref: string, compression?: LayerCompression): Promise<{ digest: string }> {
  return pushImage(store as never, ref, undefined, { compression });
}

/** The manifest an image leaves in (layers compressed once, cached; see image/layer-export.ts). */

/** Snapshot dirs (bottom→top) for a list of layers, via the store's chainID-keyed unpacking. */
export async function layerSnapshots(store: Store, layers: Array<{ descriptor: Descriptor; diffId: string }>): Promise<string[]> {
  if (layers.length === 0) return [];
  const img: ResolvedImage = {
    manifestDigest: '',
    configDigest: '',
    refs: [],
    manifest: { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: '', size: 0 }, layers: layers.map((l) => l.descriptor) },
    config: { architecture: '', os: '', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } },
  };
  return store.layerSnapshots(img);
}

export function mountOverlay(lowers: string[], upper: string, scratch: string): Promise<Mounted> {
  return snapMount(lowers, upper, { scratchDir: scratch });
}

/**
 * diffID and sizes of a snapshot dir as a layer, without storing it (tar + sha256 only): the store
 * makes the blob from the snapshot when one is read (lazy layer blobs, see Store.blobStream).
 */
export function measureLayerDir(dir: string): Promise<{ diffId: string; size: number; contentSize: number }> {
  return imageMeasureLayer(imagePackSnapshot(dir));
}

export function chainId(diffIds: string[]): string {
  return chainIdOf(diffIds);
}

/** A directory for a RUN's secret files: a tmpfs that only this builder sees, never a disk. */
export function secretScratch(): string {
  return privateScratch('secrets-');
}

export function runContainer(spec: ExecSpec): Promise<ExecResult> {
  return execRun(spec);
}

export function resolveUser(root: string, user: string): { uid: number; gid: number; name?: string } {
  return execResolveUser(root, user);
}

export function copyFiles(opts: CopyOptions): Promise<unknown> {
  return fileopsCopy(opts);
}

/** The build context: worker/context is its one loader (Dockerfile, .dockerignore, hashing). */
export { loadContext, loadNamedContext, contextSize, type BuildContext, type ContextDir } from '../worker/context/index.js';

/**
 * Content hash of `sources` of a context directory (the main one or a named one) for a cache key,
 * through that directory's metadata cache in the store.
 */
export function contextDigest(store: Store, ctx: ContextDir, sources: string[], opts: { exclude: string[]; parents: boolean }): Promise<string> {
  ctx.meta ??= useMetaCache(ctx, store.contextCacheFile(ctx.dir));
  return hashPaths(ctx, sources, { exclude: opts.exclude, parents: opts.parents });
}

/** Imports the image of an OCI layout dir (by tag, digest, or the only manifest) into the store, untagged. */
export async function loadOciLayout(store: Store, dir: string, ref?: string): Promise<ResolvedImage> {
  if (!existsSync(join(dir, 'index.json'))) throw new UserError(`oci-layout://${dir}: not an OCI layout (no index.json)`);
  const select = ref?.startsWith('sha256:') ? (d: Descriptor) => d.digest === ref : ref ? (d: Descriptor) => d.annotations?.[Annotation.RefName] === ref : undefined;
  const loaded = await loadOciLayoutDir(store, dir, { select, tag: false });
  if (loaded.length !== 1) throw new UserError(`oci-layout://${dir}: ${ref ? `no image ${ref}` : 'more than one image; name one with :TAG or @DIGEST'}`);
  const img = await store.resolveImage(loaded[0].manifestDigest as string);
  if (!img) throw new UserError(`oci-layout://${dir}: import failed`);
  return img;
}

export { archiveManifest, writeImageArchive, normalizeTag };
