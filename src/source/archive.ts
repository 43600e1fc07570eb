/**
 * Image archives as sources, read in place: a docker-archive or OCI-layout tarball streamed once
 * from a file or from the Docker Engine (`streamedArchive`), and an OCI layout directory
 * (`ociDirSource`). Both describe images through the one archive reader (`readArchiveImages` in
 * src/image/archive.ts). A streamed tarball is read in one pass, as dive reads `docker save`: small
 * JSON files are kept, every other file is handed to the layer visitor as it passes, and the image
 * is assembled at the end; each layer is checked against its digest (or diffID).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanEntryName, decompress, dirFiles, readArchiveImages, readTar, sniffCompression, TarFormatError, type ArchiveFiles, type ArchiveEntry as ArchiveImage } from '../image/index.js';
import { canonicalJson, MediaType, type Descriptor, type ImageManifest } from '../image/types.js';
import { normalizeRef, normalizeTag } from '../store/index.js';
import { UserError } from '../util/errors.js';
import type { ImageSource, LayerVisitor, SourceImage, SourceKind } from './types.js';

/** JSON files above this size are not metadata (manifests and configs are far smaller). */
const SMALL = 8 << 20;

interface Hashed {
  stream: AsyncIterable<Buffer>;
  /** reads what the visitor left and returns the digest and size of the whole blob */
  finish(): Promise<{ digest: string; size: number; compressed: boolean }>;
}

/** Passes a blob through, hashing it; `finish` drains what the consumer did not read. */
export function hashing(src: AsyncIterable<Buffer>): Hashed {
  const it = src[Symbol.asyncIterator]();
  const h = createHash('sha256');
  let size = 0;
  let ended = false;
  let head: Buffer | undefined;
  const pull = async (): Promise<Buffer | undefined> => {
    if (ended) return undefined;
    const r = await it.next();
    if (r.done) {
      ended = true;
      return undefined;
    }
    h.update(r.value);
    if (!head || head.length < 8) head = head ? Buffer.concat([head, r.value]).subarray(0, 8) : Buffer.from(r.value.subarray(0, 8));
    size += r.value.length;
    return r.value;
  };
  // no return(): a consumer that stops early leaves the rest for finish()
  const stream: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<Buffer>> => {
        const v = await pull();
        return v ? { value: v, done: false } : { value: undefined, done: true };
      },
    }),
  };
  return {
    stream,
    finish: async () => {
      while (await pull());
      return { digest: `sha256:${h.digest('hex')}`, size, compressed: !!head && sniffCompression(head) !== 'none' };
    },
  };
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function collect(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

const norm = (p: string): string => cleanEntryName(p).join('/');

/** The image `select` names (a tag, a full reference or an OCI ref.name), or the only one. */
function pickImage(images: ArchiveImage[], select: string | undefined, what: string, kind: SourceKind): ArchiveImage {
  const label = (i: ArchiveImage) => i.refs[0] ?? i.refNames[0] ?? i.configDigest.slice(7, 19);
  if (select !== undefined) {
    let tag: string | undefined;
    try {
      tag = normalizeTag(select);
    } catch {
      tag = undefined;
    }
    const found = images.find((i) => i.refNames.includes(select) || (tag !== undefined && i.refs.includes(tag)) || i.configDigest === select || i.configDigest.slice(7).startsWith(select));
    if (!found) throw new UserError(`${what}: no image ${select} in the archive (it has: ${images.map(label).join(', ') || 'none'})`);
    return found;
  }
  if (images.length === 0) throw new UserError(`${what}: the archive holds no image`);
  if (images.length > 1) throw new UserError(`${what}: the archive holds ${images.length} images (${images.map(label).join(', ')}): name one as ${kind}:PATH:NAME`);
  return images[0] as ArchiveImage;
}

interface Seen<T> {
  value?: T;
  error?: unknown;
  digest: string;
  size: number;
  compressed: boolean;
}

/** The SourceImage of an archived image; docker-archives get a manifest made from their layers. */
function sourceImage<T>(img: ArchiveImage, spec: string, layers: Seen<T>[]): SourceImage {
  let manifest = img.manifest;
  let manifestDigest = img.manifestDigest;
  if (!manifest) {
    const m: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: img.configDigest, size: img.configBytes.length },
      layers: layers.map((l): Descriptor => ({ mediaType: l.compressed ? MediaType.OciLayerGzip : MediaType.OciLayerTar, digest: l.digest, size: l.size })),
    };
    manifest = m;
    manifestDigest = `sha256:${createHash('sha256').update(canonicalJson(m)).digest('hex')}`;
  }
  return {
    name: img.refs[0] ? normalizeRef(img.refs[0]) : spec,
    refs: img.refs,
    manifestDigest: manifestDigest as string,
    manifest,
    configDigest: img.configDigest,
    config: img.config,
  };
}

function verify<T>(img: ArchiveImage, i: number, s: Seen<T>, what: string): void {
  const l = img.layers[i]!;
  // a docker-archive names its layers by diffID: checkable when the layer is stored uncompressed
  const expect = l.descriptor?.digest ?? (s.compressed ? undefined : l.diffId);
  if (expect !== undefined && expect !== s.digest) throw new UserError(`${what}: layer ${l.path} hashes to ${s.digest}, the image says ${expect}`);
}

/**
 * A docker-archive / OCI-layout tarball (gzip allowed) read in one pass from `open()`. `what`
 * prefixes errors (`docker-archive:app.tar`); `select` names one image of a multi-image archive.
 */
export function streamedArchive(kind: SourceKind, spec: string, open: () => Promise<AsyncIterable<Buffer>>, select?: string): ImageSource {
  return {
    kind,
    spec,
    async read<T>(visit: LayerVisitor<T>) {
      const small = new Map<string, Buffer>();
      const seen = new Map<string, Seen<T>>();
      const src = await open();
      try {
        for await (const e of readTar(decompress(src))) {
          if (e.type !== 'file') continue;
          const path = norm(e.name);
          const it = e.body[Symbol.asyncIterator]();
          const first = await it.next();
          const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value);
          const body: AsyncIterable<Buffer> = {
            [Symbol.asyncIterator]: async function* () {
              if (head.length) yield head;
              for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
            },
          };
          const json = head[0] === 0x7b || head[0] === 0x5b;
          if (e.size <= SMALL && (json || (!path.startsWith('blobs/') && !path.endsWith('.tar')))) {
            small.set(path, await collect(body));
            continue;
          }
          const hs = hashing(body);
          const s: Partial<Seen<T>> = {};
          try {
            s.value = await visit(hs.stream);
          } catch (err) {
            if (!(err instanceof UserError || err instanceof TarFormatError)) throw err;
            s.error = err; // not a layer after all, or a broken one: an error only if the image needs it
          }
          seen.set(path, { ...s, ...(await hs.finish()) });
        }
      } catch (e) {
        if (e instanceof TarFormatError) throw new UserError(`${spec}: not an image archive (${e.message})`);
        throw e;
      }
      const files: ArchiveFiles = { read: async (p) => small.get(norm(p)) };
      const img = pickImage(await readArchiveImages(files, spec, 'oci'), select, spec, kind);
      const layers: Seen<T>[] = [];
      for (const [i, l] of img.layers.entries()) {
        const key = norm(l.path);
        let s = seen.get(key);
        if (!s) {
          const b = small.get(key);
          if (!b) throw new UserError(`${spec}: invalid image archive: missing layer ${l.path}`);
          const hs = hashing(once(b));
          s = { value: await visit(hs.stream), ...(await hs.finish()) };
          seen.set(key, s);
        }
        if (s.error !== undefined) throw s.error instanceof TarFormatError ? new UserError(`${spec}: layer ${l.path}: ${s.error.message}`) : s.error;
        verify(img, i, s, spec);
        layers.push(s);
      }
      return { image: sourceImage(img, spec, layers), layers: layers.map((s) => s.value as T) };
    },
  };
}

/** A tarball on disk: one clear error for a missing file or a directory. */
export async function archiveFile(kind: 'docker-archive' | 'oci-archive', path: string, select?: string): Promise<ImageSource> {
  const spec = `${kind}:${path}`;
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new UserError(`${spec}: no such file`);
  }
  if (st.isDirectory()) throw new UserError(`${spec}: is a directory${kind === 'oci-archive' ? ' (an OCI layout directory is oci:DIR)' : ''}`);
  return streamedArchive(kind, spec, async () => createReadStream(path, { highWaterMark: 1 << 20 }), select);
}

/** An OCI image layout directory (`oci:DIR[:REF]`); layers stream from their blob files in order. */
export async function ociDirSource(dir: string, select?: string): Promise<ImageSource> {
  const spec = `oci:${dir}${select !== undefined ? `:${select}` : ''}`;
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new UserError(`${spec}: no such directory`);
  }
  if (!st.isDirectory()) throw new UserError(`${spec}: not a directory (an OCI layout tarball is oci-archive:FILE)`);
  const files = dirFiles(dir);
  if (!(await files.read('index.json'))) throw new UserError(`${spec}: not an OCI image layout (no index.json)`);
  return {
    kind: 'oci',
    spec,
    async read<T>(visit: LayerVisitor<T>) {
      const img = pickImage(await readArchiveImages(files, spec, 'oci'), select, spec, 'oci');
      const layers: Seen<T>[] = [];
      for (const [i, l] of img.layers.entries()) {
        const f = join(dir, norm(l.path));
        try {
          await stat(f);
        } catch {
          throw new UserError(`${spec}: missing blob ${l.descriptor?.digest ?? l.path}`);
        }
        const hs = hashing(createReadStream(f, { highWaterMark: 1 << 20 }));
        const s: Seen<T> = { value: await visit(hs.stream), ...(await hs.finish()) };
        verify(img, i, s, spec);
        layers.push(s);
      }
      return { image: sourceImage(img, spec, layers), layers: layers.map((s) => s.value as T) };
    },
  };
}
