/**
 * Image archives in and out of the store.
 *
 * save, `docker` format = what Docker 25+ writes: an OCI layout (oci-layout, index.json, blobs with
 * UNCOMPRESSED layers whose digests are the diffIDs) plus the classic `manifest.json` and
 * `repositories`, so `docker load`, `skopeo docker-archive:` and OCI tools all read it.
 * save, `oci` format = the store's blobs as an OCI image layout tarball (compressed layers: those the
 * store keeps uncompressed are gzipped once and cached; manifests byte-identical when no layer changed, `org.opencontainers.image.ref.name` = the full name).
 *
 * load reads both, plus legacy docker archives (`<id>/layer.tar`) and Docker 25+ archives: the
 * archive is unpacked with the safe extractor into a store temp dir, `manifest.json` wins when
 * present, otherwise `index.json` is followed (nested indexes: the host platform). Every blob is
 * verified (OCI: against its digest; docker: layers against the config's diff_ids).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import type { BlobStore as Store, ResolvedImage } from './store-api.js';
import { normalizeTag, qualifiedRef, splitRef } from '../reference/index.js';
import { UserError, errnoText } from '../util/errors.js';
import { resolveInRoot } from '../util/fspath.js';
import { decompress } from './compress.js';
import { applyLayer } from './layer-apply.js';
import { writeTarAsLayer } from './layer-write.js';
import { exportManifest, type ExportedManifest, type LayerCompression } from './layer-export.js';
import { validateTar } from './import.js';
import { encodeHeader, padLen, TAR_END } from './tar.js';
import {
  Annotation,
  canonicalJson,
  hostPlatform,
  isIndexMediaType,
  MediaType,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  toDockerManifest,
  toOciManifest,
} from './types.js';

type Sink = (b: Buffer) => Promise<void>;

/** Streams a tar archive into a sink; entries get mtime 0 and root ownership (reproducible). */
class TarOut {
  private dirs = new Set<string>();
  private files = new Set<string>();
  constructor(private readonly sink: Sink) {}
  async dir(name: string): Promise<void> {
    if (this.dirs.has(name)) return;
    this.dirs.add(name);
    await this.sink(encodeHeader({ name: `${name}/`, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 }));
  }
  has(name: string): boolean {
    return this.files.has(name);
  }
  async file(name: string, data: Buffer | AsyncIterable<Buffer>, size?: number): Promise<void> {
    if (this.files.has(name)) return;
    this.files.add(name);
    const len = Buffer.isBuffer(data) ? data.length : (size as number);
    await this.sink(encodeHeader({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: len, mtime: 0 }));
    let n = 0;
    if (Buffer.isBuffer(data)) {
      await this.sink(data);
      n = data.length;
    } else {
      for await (const c of data) {
        n += c.length;
        if (n > len) throw new Error(`${name}: more data than the ${len} bytes announced`);
        await this.sink(c);
      }
    }
    if (n !== len) throw new Error(`${name}: ${n} bytes written, ${len} announced`);
    const pad = padLen(len);
    if (pad) await this.sink(Buffer.alloc(pad));
  }
  async end(): Promise<void> {
    await this.sink(TAR_END);
  }
}

const hex = (d: string): string => d.slice(7);

/** Decompresses a stored layer while checking its diffID. */
async function* verifiedUncompressed(store: Store, layer: Descriptor, diffId: string): AsyncGenerator<Buffer> {
  const h = createHash('sha256');
  for await (const c of decompress(store.blobStream(layer.digest))) {
    h.update(c);
    yield c;
  }
  if (`sha256:${h.digest('hex')}` !== diffId) throw new UserError(`layer ${layer.digest} does not match its diffID ${diffId}: the store is corrupt (run system fsck)`);
}

export type SaveFormat = 'docker' | 'oci';

async function writeDockerArchive(store: Store, imgs: ArchiveImage[], tar: TarOut): Promise<void> {
  await tar.dir('blobs');
  await tar.dir('blobs/sha256');
  const manifestJson: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  for (const { img, tags } of imgs) {
    const layers: Descriptor[] = [];
    const paths: string[] = [];
    for (const [i, l] of img.manifest.layers.entries()) {
      const diffId = img.config.rootfs.diff_ids[i] as string;
      const info = await store.layerInfo(l);
      const p = `blobs/sha256/${hex(diffId)}`;
      if (!tar.has(p)) await tar.file(p, verifiedUncompressed(store, l, diffId), info.size);
      // the build's attribution annotations travel with the layer (analysis of the archive reads them)
      layers.push({ mediaType: MediaType.OciLayerTar, digest: diffId, size: info.size, ...(l.annotations ? { annotations: l.annotations } : {}) });
      paths.push(p);
    }
    const configBytes = await store.readBlob(img.configDigest);
    await tar.file(`blobs/sha256/${hex(img.configDigest)}`, configBytes);
    const m: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: img.configDigest, size: configBytes.length },
      layers,
    };
    const mb = canonicalJson(m);
    const md = `sha256:${createHash('sha256').update(mb).digest('hex')}`;
    await tar.file(`blobs/sha256/${hex(md)}`, mb);
    const desc = { mediaType: MediaType.OciManifest, digest: md, size: mb.length };
    if (tags.length === 0) index.manifests.push(desc);
    for (const t of tags) {
      index.manifests.push({ ...desc, annotations: { [Annotation.ImageName]: qualifiedRef(t), [Annotation.RefName]: splitRef(t)[1] } });
      const [repo, tag] = splitRef(t);
      (repositories[repo] ??= {})[tag] = hex(img.config.rootfs.diff_ids[img.config.rootfs.diff_ids.length - 1] ?? img.configDigest);
    }
    manifestJson.push({ Config: `blobs/sha256/${hex(img.configDigest)}`, RepoTags: tags.length ? tags : null, Layers: paths });
  }
  await tar.file('index.json', canonicalJson(index));
  await tar.file('manifest.json', canonicalJson(manifestJson));
  await tar.file('oci-layout', canonicalJson({ imageLayoutVersion: '1.0.0' }));
  if (Object.keys(repositories).length) await tar.file('repositories', canonicalJson(repositories));
}

async function writeOciArchive(store: Store, imgs: ArchiveImage[], tar: TarOut, opts: ArchiveOptions): Promise<void> {
  await tar.file('oci-layout', canonicalJson({ imageLayoutVersion: '1.0.0' }));
  await tar.dir('blobs');
  await tar.dir('blobs/sha256');
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  const manifestJson: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  const blob = async (d: string): Promise<void> => {
    const p = `blobs/sha256/${hex(d)}`;
    if (tar.has(p)) return;
    const st = await stat(store.blobPath(d));
    await tar.file(p, store.blobStream(d) as AsyncIterable<Buffer>, st.size);
  };
  for (const { img, tags } of imgs) {
    const out = await archiveManifest(store, img, opts);
    for (const l of out.manifest.layers) await blob(l.digest);
    await blob(img.configDigest);
    const mp = `blobs/sha256/${hex(out.digest)}`;
    if (!tar.has(mp)) await tar.file(mp, out.bytes);
    const desc: Descriptor = { mediaType: out.manifest.mediaType ?? MediaType.OciManifest, digest: out.digest, size: out.bytes.length };
    if (tags.length === 0) index.manifests.push(desc);
    // as docker and BuildKit: the tag alone in ref.name, the full name in io.containerd.image.name
    for (const t of tags) index.manifests.push({ ...desc, annotations: { [Annotation.ImageName]: qualifiedRef(t), [Annotation.RefName]: splitRef(t)[1] } });
    manifestJson.push({ Config: `blobs/sha256/${hex(img.configDigest)}`, RepoTags: tags.length ? tags : null, Layers: out.manifest.layers.map((l) => `blobs/sha256/${hex(l.digest)}`) });
  }
  await tar.file('index.json', canonicalJson(index));
  if (opts.dockerManifest) await tar.file('manifest.json', canonicalJson(manifestJson));
}

/**
 * The manifest an image has in an OCI-layout archive (`save --format oci`, `--output type=oci`, and
 * with `dockerTypes` BuildKit's `docker` exporter): OCI throughout (a Docker schema2 manifest, or an
 * OCI one listing Docker layer types, becomes its OCI twin with the same config and layer blobs) or,
 * with `dockerTypes`, Docker schema2 throughout unless the compression has no Docker layer type
 * (zstd: BuildKit forcibly turns on oci-mediatypes). Then the layers leave compressed as
 * `compression` says (gzip by default; once, cached: see layer-export.ts), each with the media
 * type of its bytes.
 */
export async function archiveManifest(store: Store, img: ArchiveImage['img'], opts: Pick<ArchiveOptions, 'compression' | 'dockerTypes'>): Promise<ExportedManifest> {
  const docker = opts.dockerTypes === true && opts.compression?.compression !== 'zstd';
  const m = docker ? toDockerManifest(img.manifest) : toOciManifest(img.manifest);
  const bytes = m === img.manifest ? await store.readBlob(img.manifestDigest) : canonicalJson(m);
  return exportManifest(store, m, img.config.rootfs.diff_ids, bytes, opts.compression);
}

/** An image to write into an archive: its manifest and config (blobs in the store) and its names. */
export interface ArchiveImage {
  img: Pick<ResolvedImage, 'manifestDigest' | 'configDigest' | 'manifest' | 'config'>;
  /** normalized names (`busybox:latest`) */
  tags: string[];
}

export interface ArchiveOptions {
  /** where `-` writes (default process.stdout) */
  stdout?: Writable;
  /** OCI format: also write docker's manifest.json, so `docker load` of older engines reads it */
  dockerManifest?: boolean;
  /** OCI format: how layers kept uncompressed in the store leave (default gzip) */
  compression?: LayerCompression;
  /** OCI format: Docker schema2 media types, as BuildKit's `docker` exporter (see archiveManifest) */
  dockerTypes?: boolean;
}

/**
 * THE image archive writer: `docker` (`docker save`'s Docker 25+ layout: uncompressed layers,
 * manifest.json, repositories) or `oci` (the store's blobs as an OCI image layout) to `out` (a file,
 * written atomically; '-' = stdout). Used by `save` and by the build's `--output type=oci|docker`
 * (both `oci` format, as BuildKit's exporters: `docker` = dockerTypes and a manifest.json).
 */
export async function writeImageArchive(store: Store, imgs: ArchiveImage[], out: string | undefined, format: SaveFormat, opts: ArchiveOptions = {}): Promise<void> {
  const write = (tar: TarOut): Promise<void> => (format === 'oci' ? writeOciArchive(store, imgs, tar, opts) : writeDockerArchive(store, imgs, tar));
  if (!out || out === '-') {
    const stream = opts.stdout ?? process.stdout;
    if ((stream as { isTTY?: boolean }).isTTY) throw new UserError('refusing to write an archive to a terminal: use -o FILE');
    const sink: Sink = (b) =>
      new Promise((resolve, reject) => {
        stream.write(b, (e) => (e ? reject(e) : resolve()));
      });
    const tar = new TarOut(sink);
    await write(tar);
    await tar.end();
    return;
  }
  const tmp = `${out}.${process.pid}.tmp`;
  let fh;
  try {
    fh = await open(tmp, 'w', 0o644);
  } catch (e) {
    throw new UserError(`open ${out}: ${errnoText(e)}`);
  }
  try {
    const f = fh;
    const tar = new TarOut(async (b) => {
      let off = 0;
      while (off < b.length) off += (await f.write(b, off, b.length - off)).bytesWritten;
    });
    await write(tar);
    await tar.end();
    await fh.sync();
    await fh.close();
    await rename(tmp, out);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** `save`: the named images to `out` (a file, written atomically; '-' or undefined = stdout). */
export async function saveImages(store: Store, names: string[], out: string | undefined, format: SaveFormat = 'docker'): Promise<void> {
  if (names.length === 0) throw new UserError('save: at least one image is required');
  const imgs: { img: ResolvedImage; tags: string[] }[] = [];
  for (const n of names) {
    const img = await store.requireImage(n);
    // a name that is a tag selects that tag; an ID selects all of the image's tags
    let tags: string[];
    try {
      const t = normalizeTag(n);
      tags = img.refs.includes(t) ? [t] : img.refs;
    } catch {
      tags = img.refs;
    }
    const prev = imgs.find((x) => x.img.manifestDigest === img.manifestDigest);
    if (prev) prev.tags = [...new Set([...prev.tags, ...tags])];
    else imgs.push({ img, tags });
  }
  await writeImageArchive(store, imgs, out, format);
}

// ---------------------------------------------------------------------------------------------
// load

export interface LoadedImage {
  id: string;
  /** digest of the manifest as stored */
  manifestDigest?: string;
  refs: string[];
}

function refFromAnnotations(a: Record<string, string> | undefined): string | undefined {
  if (!a) return undefined;
  const tryTag = (s: string | undefined): string | undefined => {
    if (!s) return undefined;
    try {
      return normalizeTag(s);
    } catch {
      return undefined;
    }
  };
  const full = tryTag(a[Annotation.ImageName]);
  if (full) return full;
  const rn = a[Annotation.RefName];
  // a bare tag ("latest") names no repository: the image is loaded untagged
  if (rn && (rn.includes(':') || rn.includes('/'))) return tryTag(rn);
  return undefined;
}

/**
 * Puts the images the archive reader found in an unpacked archive `dir` into the store: a
 * docker-archive's layers are checked with the extraction rules and written as the store's layers
 * (their diffIDs must match the config); an OCI layout's blobs are checked and stored as they are,
 * with the manifest and config bytes unchanged.
 */
async function storeArchiveImages(store: Store, dir: string, entries: ArchiveEntry[], opts: { tag?: boolean } = {}): Promise<LoadedImage[]> {
  const layerFile = async (path: string, missing: string, name: string): Promise<string> => {
    const p = resolveInRoot(dir, path, true);
    if (!existsSync(p)) throw new UserError(`invalid image archive: missing ${missing}`);
    await validateTar(p, name, 'inside');
    return p;
  };
  const loaded: LoadedImage[] = [];
  const layerCache = new Map<string, { descriptor: Descriptor; diffId: string }>();
  for (const e of entries) {
    const refs = opts.tag === false ? [] : e.refs;
    if (e.format === 'docker') {
      const layers: Descriptor[] = [];
      for (const { path, diffId } of e.layers) {
        let l = layerCache.get(path);
        if (!l) {
          const p = await layerFile(path, `layer ${path}`, path);
          l = await writeTarAsLayer(store, decompress(createReadStream(p, { highWaterMark: 1 << 20 })), { compression: 'gzip' });
          layerCache.set(path, l);
        }
        if (l.diffId !== diffId) throw new UserError(`invalid image archive: layer ${path} has diffID ${l.diffId}, the config says ${diffId}`);
        layers.push(l.descriptor);
      }
      const cdesc = await store.putBlob(e.configBytes);
      const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, ...cdesc }, layers };
      await store.putImage(manifest, e.config, refs);
      loaded.push({ id: cdesc.digest, refs });
      continue;
    }
    for (const l of e.layers) {
      const d = l.descriptor as Descriptor;
      if (store.hasBlob(d.digest)) continue;
      const p = await layerFile(l.path, `blob ${d.digest}`, d.digest);
      await store.putBlob(createReadStream(p, { highWaterMark: 1 << 20 }), { digest: d.digest, size: d.size });
    }
    await store.putImage(e.manifest as ImageManifest, e.config, refs, { manifest: e.manifestBytes as Buffer, config: e.configBytes });
    loaded.push({ id: e.configDigest, manifestDigest: e.manifestDigest, refs });
  }
  return loaded;
}

/**
 * Loads the images of an OCI image layout directory (`dir`: index.json, blobs/sha256). With
 * `select`, only the index entries it accepts. Every blob is verified against its digest.
 */
export async function loadOciLayoutDir(store: Store, dir: string, opts: { select?: (d: Descriptor) => boolean; tag?: boolean } = {}): Promise<LoadedImage[]> {
  const files = dirFiles(dir);
  const idx = await files.read('index.json');
  if (!idx) throw new UserError('invalid image archive: no index.json');
  return storeArchiveImages(store, dir, await readOciIndex(files, idx, opts.select), opts);
}

/** Loads a docker-archive or OCI-layout tarball (file path, or '-'/undefined for stdin). */
export async function loadImages(store: Store, input: string | undefined): Promise<LoadedImage[]> {
  let src: Readable;
  if (!input || input === '-') {
    if (process.stdin.isTTY) throw new UserError('load: no input (use -i FILE or pipe an archive)');
    src = process.stdin;
  } else {
    const st = await stat(input).catch(() => undefined);
    if (!st) throw new UserError(`open ${input}: no such file or directory`);
    if (st.isDirectory()) throw new UserError(`${input} is a directory: load reads an image archive (a docker-archive or OCI layout tarball)`);
    if (!st.isFile() && !st.isFIFO() && !st.isCharacterDevice()) throw new UserError(`${input}: not a regular file`);
    src = createReadStream(input, { highWaterMark: 1 << 20 });
  }
  const tmp = await store.tmpDir('load-');
  try {
    try {
      await applyLayer(src, tmp, { whiteouts: 'none', sameOwner: false });
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${input ?? 'stdin'}: not a valid image archive (${e.message.replace(/^invalid layer: /, '')})`);
      throw e;
    }
    return await storeArchiveImages(store, tmp, await readArchiveImages(dirFiles(tmp), input ?? 'stdin'));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}


// ---- the archive reader (sources): describes images without loading them ----

/**
 * Read access to the files of an image archive: an unpacked directory, an OCI layout directory, or
 * the small files collected while a tarball streams past. `read` gives undefined for a missing file.
 */
export interface ArchiveFiles {
  read(path: string): Promise<Buffer | undefined>;
}

/** ArchiveFiles over a directory (an unpacked archive or an OCI layout); paths stay inside it. */
export function dirFiles(dir: string): ArchiveFiles {
  return {
    read: async (p) => {
      const f = resolveInRoot(dir, p, true);
      try {
        return await readFile(f);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
        throw e;
      }
    },
  };
}

/** One layer of an archived image: where its blob is and what it must hash to. */
export interface ArchiveLayer {
  /** path of the blob inside the archive */
  path: string;
  diffId: string;
  /** OCI layouts: the manifest's descriptor (the blob hashes to its digest) */
  descriptor?: Descriptor;
}

/** One image found in an archive, its JSON read and verified; layers are only located. */
export interface ArchiveEntry {
  format: 'docker' | 'oci';
  refs: string[];
  /** OCI layouts: the `org.opencontainers.image.ref.name` values as written (may be bare tags) */
  refNames: string[];
  config: ImageConfig;
  configBytes: Buffer;
  configDigest: string;
  /** OCI layouts: the manifest as stored (its digest is the image's) */
  manifest?: ImageManifest;
  manifestBytes?: Buffer;
  manifestDigest?: string;
  layers: ArchiveLayer[];
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function parseJson<T>(b: Buffer, what: string): T {
  try {
    return JSON.parse(b.toString('utf8')) as T;
  } catch (e) {
    throw new UserError(`invalid image archive: cannot read ${what}: ${(e as Error).message.split('\n')[0]}`);
  }
}

async function readDockerManifest(files: ArchiveFiles, mjBytes: Buffer): Promise<ArchiveEntry[]> {
  const mj = parseJson<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(mjBytes, 'manifest.json');
  if (!Array.isArray(mj)) throw new UserError('invalid image archive: manifest.json is not a list');
  const out: ArchiveEntry[] = [];
  for (const entry of mj) {
    if (typeof entry?.Config !== 'string' || !Array.isArray(entry.Layers)) throw new UserError('invalid image archive: bad manifest.json entry');
    const configBytes = await files.read(entry.Config);
    if (!configBytes) throw new UserError(`invalid image archive: missing ${entry.Config}`);
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    } catch {
      throw new UserError(`invalid image archive: ${entry.Config} is not JSON`);
    }
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== entry.Layers.length) throw new UserError(`invalid image archive: ${entry.Layers.length} layers but the config lists ${diffIds.length}`);
    out.push({
      format: 'docker',
      refs: (entry.RepoTags ?? []).map((t) => normalizeTag(t)),
      refNames: entry.RepoTags ?? [],
      config,
      configBytes,
      configDigest: sha256(configBytes),
      layers: entry.Layers.map((path, i) => ({ path, diffId: diffIds[i] as string })),
    });
  }
  return out;
}

async function readOciIndex(files: ArchiveFiles, idxBytes: Buffer, select?: (d: Descriptor) => boolean): Promise<ArchiveEntry[]> {
  const idx = parseJson<ImageIndex>(idxBytes, 'index.json');
  if (!Array.isArray(idx.manifests)) throw new UserError('invalid image archive: index.json has no manifests');
  const blobPath = (d: string): string => {
    if (!/^sha256:[0-9a-f]{64}$/.test(d)) throw new UserError(`invalid image archive: unsupported digest ${d}`);
    return `blobs/sha256/${hex(d)}`;
  };
  const readBlob = async (d: Descriptor): Promise<Buffer> => {
    const b = await files.read(blobPath(d.digest));
    if (!b) throw new UserError(`invalid image archive: missing blob ${d.digest}`);
    const got = sha256(b);
    if (got !== d.digest) throw new UserError(`invalid image archive: blob ${d.digest} hashes to ${got}`);
    return b;
  };
  const plat = hostPlatform();
  const pick = async (d: Descriptor, depth = 0): Promise<{ desc: Descriptor; bytes: Buffer } | undefined> => {
    if (depth > 4) throw new UserError('invalid image archive: nested indexes too deep');
    const bytes = await readBlob(d);
    if (!isIndexMediaType(d.mediaType)) return { desc: d, bytes };
    const sub = JSON.parse(bytes.toString('utf8')) as ImageIndex;
    const ms = (sub.manifests ?? []).filter((m) => m.platform?.architecture !== 'unknown');
    const best = ms.find((m) => m.platform?.os === plat.os && m.platform?.architecture === plat.architecture) ?? ms.find((m) => !m.platform) ?? ms[0];
    return best ? pick(best, depth + 1) : undefined;
  };
  const out: ArchiveEntry[] = [];
  const byDigest = new Map<string, ArchiveEntry>();
  for (const d of idx.manifests) {
    if (select && !select(d)) continue;
    const ref = refFromAnnotations(d.annotations);
    const refName = d.annotations?.[Annotation.RefName];
    const got = await pick(d);
    if (!got) continue;
    const prev = byDigest.get(got.desc.digest);
    if (prev) {
      if (ref && !prev.refs.includes(ref)) prev.refs.push(ref);
      if (refName) prev.refNames.push(refName);
      continue;
    }
    let m: ImageManifest;
    try {
      m = JSON.parse(got.bytes.toString('utf8')) as ImageManifest;
    } catch {
      throw new UserError(`invalid image archive: manifest ${got.desc.digest} is not JSON`);
    }
    if (!m.config?.digest || !Array.isArray(m.layers)) throw new UserError(`invalid image archive: ${got.desc.digest} is not an image manifest`);
    const configBytes = await readBlob(m.config);
    const config = parseJson<ImageConfig>(configBytes, `config ${m.config.digest}`);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== m.layers.length) throw new UserError(`invalid image archive: ${m.layers.length} layers but the config lists ${diffIds.length}`);
    const img: ArchiveEntry = {
      format: 'oci',
      refs: ref ? [ref] : [],
      refNames: refName ? [refName] : [],
      config,
      configBytes,
      configDigest: m.config.digest,
      manifest: { ...m, mediaType: m.mediaType ?? got.desc.mediaType },
      manifestBytes: got.bytes,
      manifestDigest: got.desc.digest,
      layers: m.layers.map((l, i) => ({ path: blobPath(l.digest), diffId: diffIds[i] as string, descriptor: l })),
    };
    byDigest.set(got.desc.digest, img);
    out.push(img);
  }
  return out;
}

/**
 * THE image-archive reader: the images of a docker-archive (`manifest.json`, any Docker version) or
 * an OCI layout (`index.json`, nested indexes resolved to the host platform), JSON verified, layers
 * located. When an archive has both (Docker 25+), `prefer` picks the description: `load` takes
 * docker's, analysis takes the OCI manifest (it keeps layer annotations). Throws when it has neither.
 */
export async function readArchiveImages(files: ArchiveFiles, what: string, prefer: 'docker' | 'oci' = 'docker'): Promise<ArchiveEntry[]> {
  const mj = await files.read('manifest.json');
  const idx = await files.read('index.json');
  if (mj && (prefer === 'docker' || !idx)) return readDockerManifest(files, mj);
  if (idx) return readOciIndex(files, idx);
  throw new UserError(`${what}: not an image archive (no manifest.json or index.json)`);
}
