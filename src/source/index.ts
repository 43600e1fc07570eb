/**
 * Image sources: a name on the command line → an `ImageSource` that streams the image's layers once,
 * without importing anything into the store (as dive's resolver, with skopeo's transport names):
 *
 *   NAME                    the store; a reference the store lacks is read from its registry
 *   docker-archive:PATH[:REF]  a `docker save` tarball (any Docker version, gzip allowed)
 *   oci-archive:PATH[:REF]     an OCI image layout tarball
 *   oci:DIR[:REF]              an OCI image layout directory
 *   docker-daemon:NAME         a Docker Engine's image, through its API socket (GET /images/NAME/get)
 *   docker://REF               a registry, over the distribution API (src/registry)
 *
 * Used by every command that reads an image: analyze, compare, history, inspect.
 */
import { existsSync } from 'node:fs';
import { measureLayer } from '../image/index.js';
import { hostPlatform, type ImageConfig } from '../image/types.js';
import { mapLimit, parseReference, RegistryClient, resolveManifest, type Reference } from '../registry/index.js';
import { normalizeRef, type Store } from '../store/index.js';
import { UserError } from '../util/errors.js';
import { archiveFile, ociDirSource } from './archive.js';
import { daemonSource } from './daemon.js';
import type { ImageSource, LayerVisitor, SourceImage } from './types.js';

export type { ImageSource, LayerVisitor, SourceImage, SourceKind } from './types.js';
export { dockerSocket, engineGet } from './daemon.js';

/** An image of the local store. */
export function storeSource(store: Store, refOrId: string): ImageSource {
  return {
    kind: 'store',
    spec: refOrId,
    async read<T>(visit: LayerVisitor<T>) {
      const img = await store.requireImage(refOrId);
      const layers: T[] = [];
      for (const d of img.manifest.layers) layers.push(await visit(store.blobStream(d.digest)));
      return { image: { ...img, name: img.refs[0] ? normalizeRef(img.refs[0]) : refOrId }, layers };
    },
  };
}

async function collect(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(c);
  return Buffer.concat(parts);
}

/** An image in a registry, layers streamed (3 at a time, as pull) and verified, never stored. */
export function registrySource(ref: Reference, spec: string): ImageSource {
  return {
    kind: 'registry',
    spec,
    async read<T>(visit: LayerVisitor<T>) {
      const client = RegistryClient.for(ref.registry);
      const { top, manifest } = await resolveManifest(client, ref, hostPlatform());
      const configBytes = await collect(client.streamBlob(ref.repository, manifest.config));
      let config: ImageConfig;
      try {
        config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
      } catch {
        throw new UserError(`${ref.familiar}: config ${manifest.config.digest} is not valid JSON`);
      }
      const layers = await mapLimit(manifest.layers, 3, async (d) => {
        const blob = client.streamBlob(ref.repository, d);
        // the visitor sees no return(): stopping early must not skip the digest check below
        const value = await visit({ [Symbol.asyncIterator]: () => ({ next: () => blob.next() }) });
        while (!(await blob.next()).done); // what the visitor left, so the digest is checked
        return value;
      });
      const image: SourceImage = { name: ref.familiar, refs: ref.tag ? [ref.familiar.replace(/@.*$/, '')] : [], manifestDigest: top.digest, manifest, configDigest: manifest.config.digest, config };
      return { image, layers };
    },
  };
}

/** `PATH[:REF]`: the longest existing path wins, so paths with colons still work. */
function splitPathRef(rest: string): [string, string | undefined] {
  if (existsSync(rest)) return [rest, undefined];
  for (let i = rest.indexOf(':'); i > 0; i = rest.indexOf(':', i + 1)) {
    if (existsSync(rest.slice(0, i))) return [rest.slice(0, i), rest.slice(i + 1) || undefined];
  }
  return [rest, undefined];
}

export interface OpenOptions {
  /** the local store (opened only when the name is a plain one) */
  store: () => Promise<Store>;
  /**
   * A plain name the store lacks: read it from its registry (analyze, compare) or say "No such
   * image" (history, inspect: docker's commands never pull).
   */
  registryFallback?: boolean;
}

/** Is this a name with a source prefix (anything but a plain store name)? */
export function hasSourcePrefix(spec: string): boolean {
  return /^(docker-archive|oci-archive|oci|docker-daemon):/.test(spec) || spec.startsWith('docker://');
}

export async function openImageSource(spec: string, opts: OpenOptions): Promise<ImageSource> {
  const m = /^(docker-archive|oci-archive|oci|docker-daemon):(.*)$/s.exec(spec);
  if (m) {
    const [, kind, rest = ''] = m;
    if (!rest) throw new UserError(`${spec}: missing ${kind === 'docker-daemon' ? 'image name' : kind === 'oci' ? 'directory' : 'file'} after "${kind}:"`);
    if (kind === 'docker-daemon') return daemonSource(rest);
    const [path, select] = splitPathRef(rest);
    if (kind === 'oci') return ociDirSource(path, select);
    return archiveFile(kind as 'docker-archive' | 'oci-archive', path, select);
  }
  if (spec.startsWith('docker://')) return registrySource(parseReference(spec.slice('docker://'.length)), spec);
  const store = await opts.store();
  if (await store.resolveImage(spec)) return storeSource(store, spec);
  if (!opts.registryFallback) throw new UserError(`No such image: ${spec}`);
  let ref: Reference;
  try {
    ref = parseReference(spec);
  } catch {
    throw new UserError(`No such image: ${spec}`);
  }
  const remote = registrySource(ref, spec);
  return {
    ...remote,
    read: async (visit) => {
      try {
        return await remote.read(visit);
      } catch (e) {
        if (e instanceof UserError) throw new UserError(`No such image: ${spec} (not in the store; ${e.message})`);
        throw e;
      }
    },
  };
}

/** The image and docker's size of each layer (what `history` and `images` show). */
export async function imageLayerSizes(src: ImageSource, store?: Store): Promise<{ image: SourceImage; sizes: number[] }> {
  if (src.kind === 'store' && store) {
    const img = await store.requireImage(src.spec);
    const sizes: number[] = [];
    for (const l of img.manifest.layers) sizes.push((await store.layerInfo(l)).contentSize);
    return { image: { ...img, name: img.refs[0] ? normalizeRef(img.refs[0]) : src.spec }, sizes };
  }
  const { image, layers } = await src.read(async (blob) => (await measureLayer(blob)).contentSize);
  return { image, sizes: layers };
}
