/**
 * The local image store: a content-addressed OCI image layout on disk plus what the builder needs.
 *
 *   ROOT/oci-layout, ROOT/index.json     OCI layout; one index entry per tag (ref.name annotation),
 *                                        or one untagged entry for a dangling image
 *   ROOT/blobs/sha256/HEX                manifests, configs, compressed layers (verified on write)
 *   ROOT/meta/layers/HEX.json            per layer blob: its diffID and uncompressed size; for a layer
 *                                        the builder kept only as a snapshot (a "lazy" blob), the chainID
 *                                        of that snapshot: blobStream/ensureBlob make the tar from it
 *   ROOT/meta/variants/DIFFHEX.KEY.json  a layer compressed for export (KEY = compression-level): its blob
 *   ROOT/meta/contexts/HEX               per build-context directory: its metadata cache (worker/context)
 *   ROOT/meta/tagged/MANIFESTHEX         empty; its mtime = when a rebuild that changed nothing last named
 *                                        the image (docker's LastTagTime moves then; index.json is not rewritten)
 *   ROOT/snapshots/CHAINHEX/             unpacked layers, overlay-ready (whiteouts = char 0/0)
 *   ROOT/meta/snapshots/CHAINHEX.json    per snapshot: the diffID its content must pack to (fsck)
 *   ROOT/locks/  ROOT/tmp/  ROOT/cache/  ROOT/containers/
 *
 * Every write is temp file + fsync + rename (+ dir fsync); index.json changes happen under the
 * cross-process "index" lock; a SIGKILL at any moment leaves only temp files, which `fsck` removes.
 * A snapshot (a RUN's upper dir, or a layer unpacked from its blob) is made durable with ONE syncfs
 * of the store's filesystem before it is renamed into snapshots/ (its files are written without
 * fsync, the overlay is `volatile`): after a power cut a snapshot is complete or absent.
 * `fsck --snapshots` re-reads them all against their recorded diffIDs.
 * Index entries carry the config digest, uncompressed size and creation time as annotations so that
 * listing images reads one small file.
 */
import { chainIdOf, type LayerInfo, type ResolvedImage } from '../image/store-api.js';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  Annotation,
  MediaType,
  canonicalJson,
  isIndexMediaType,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
} from '../image/types.js';
import { UserError } from '../util/errors.js';
import { applyLayer, decompress, measureLayer, packSnapshot } from '../image/index.js';
import { fsyncDir, pidAlive, syncFilesystem, tempName, writeFileAtomic } from './atomic.js';
import { acquireLock, withFileLock, type HeldLock } from './lock.js';
import { normalizeRef, normalizeTag } from '../reference/index.js';

export const StoreAnnotation = {
  Config: 'io.stagecraft.image.config',
  Size: 'io.stagecraft.image.size',
  Tagged: 'io.stagecraft.image.tagged',
} as const;

export interface ImageRecord {
  refs: string[];
  manifestDigest: string;
  configDigest: string;
  /** first 12 hex of the config digest (docker's IMAGE ID) */
  id: string;
  created?: string;
  /** uncompressed size like `docker images`: sum of the layers' unpacked file bytes (contentSize) */
  size: number;
  /** when a ref was last set (docker's Metadata.LastTagTime) */
  tagged?: string;
}


const HEX64 = /^[0-9a-f]{64}$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

function hexOf(digest: string): string {
  if (!DIGEST_RE.test(digest)) throw new UserError(`invalid digest: ${digest}`);
  return digest.slice(7);
}

export function defaultRoot(): string {
  if (process.env.STAGECRAFT_ROOT) return process.env.STAGECRAFT_ROOT;
  const data = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'stagecraft');
}

/** chainID per the OCI image spec: chain(L0) = diffID0; chain(Ln) = sha256(chain(Ln-1) + " " + diffIDn) */

export { chainIdOf, type LayerInfo, type ResolvedImage };

/** Manifest digests some other module keeps alive (see `Store.addGcRoots`). */
export type GcRoots = (store: Store) => Promise<Iterable<string>>;

export class Store {
  readonly root: string;
  readonly dirs: { cache: string; containers: string; snapshots: string; tmp: string; blobs: string; locks: string; meta: string; contexts: string; variants: string; snapshotMeta: string; tagged: string };
  private lease?: Promise<HeldLock | undefined>;
  private readonly gcRoots = new Set<GcRoots>();

  private constructor(root: string) {
    this.root = root;
    this.dirs = {
      cache: join(root, 'cache'),
      containers: join(root, 'containers'),
      snapshots: join(root, 'snapshots'),
      tmp: join(root, 'tmp'),
      blobs: join(root, 'blobs', 'sha256'),
      locks: join(root, 'locks'),
      meta: join(root, 'meta', 'layers'),
      contexts: join(root, 'meta', 'contexts'),
      variants: join(root, 'meta', 'variants'),
      snapshotMeta: join(root, 'meta', 'snapshots'),
      tagged: join(root, 'meta', 'tagged'),
    };
  }

  /** Opens (creating if needed) the store at root ?? $STAGECRAFT_ROOT ?? $XDG_DATA_HOME/stagecraft. */
  static async open(root?: string): Promise<Store> {
    const s = new Store(root ?? defaultRoot());
    try {
      for (const d of Object.values(s.dirs)) await mkdir(d, { recursive: true });
    } catch (e) {
      throw new UserError(`cannot create store at ${s.root}: ${(e as Error).message}`);
    }
    if (!existsSync(join(s.root, 'oci-layout'))) {
      await writeFileAtomic(join(s.root, 'oci-layout'), canonicalJson({ imageLayoutVersion: '1.0.0' }));
    }
    if (!existsSync(join(s.root, 'index.json'))) {
      await s.withLock('index', async () => {
        if (!existsSync(join(s.root, 'index.json'))) await s.writeIndex({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
      });
    }
    return s;
  }

  /** A fresh directory inside the store (same filesystem, so results can be renamed into place). */
  async tmpDir(prefix = ''): Promise<string> {
    return mkdtemp(join(this.dirs.tmp, `${process.pid}-${prefix.replace(/[^A-Za-z0-9_.-]/g, '')}`));
  }

  /** Runs fn under the cross-process exclusive lock NAME. */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return withFileLock(this.dirs.locks, name, fn);
  }

  /** Holds the shared GC lease for the rest of this process (or until release()). */
  private takeLease(): Promise<HeldLock | undefined> {
    this.lease ??= acquireLock(this.dirs.locks, 'gc', { shared: true, daemon: true });
    return this.lease;
  }

  /** Releases this process's GC lease (blobs written but not yet referenced become collectable). */
  async release(): Promise<void> {
    const l = this.lease;
    this.lease = undefined;
    if (l) await (await l)?.release();
  }

  // ---- blobs -------------------------------------------------------------------------------

  blobPath(digest: string): string {
    return join(this.dirs.blobs, hexOf(digest));
  }

  hasBlob(digest: string): boolean {
    return DIGEST_RE.test(digest) && existsSync(this.blobPath(digest));
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`blob not found in store: ${digest}`);
      throw e;
    }
  }

  async readJson<T>(digest: string): Promise<T> {
    const b = await this.readBlob(digest);
    try {
      return JSON.parse(b.toString('utf8')) as T;
    } catch {
      throw new UserError(`blob ${digest} is not valid JSON`);
    }
  }

  /**
   * The blob's bytes. A lazy layer blob (no file, a layer record naming its snapshot) is the tar of
   * that snapshot, made again as the build measured it, or, when the snapshot is gone (fsck --repair
   * removed a bad one), a compressed variant of the same layer that an export left, decompressed;
   * either is checked against the digest at the end.
   */
  blobStream(digest: string): Readable {
    if (!this.hasBlob(digest)) {
      const snap = this.lazySnapshot(digest);
      if (snap) return Readable.from(this.verifiedTar(packSnapshot(snap), digest, `its snapshot ${snap}`));
      const v = this.lazyVariant(digest);
      if (v) return Readable.from(this.verifiedTar(decompress(createReadStream(this.blobPath(v), { highWaterMark: 1 << 20 })), digest, `its compressed blob ${v}`));
    }
    return createReadStream(this.blobPath(digest), { highWaterMark: 1 << 20 });
  }

  /** The snapshot dir a lazy layer blob is made from (undefined: not lazy, or its snapshot is gone). */
  lazySnapshot(digest: string): string | undefined {
    if (!DIGEST_RE.test(digest)) return undefined;
    for (const chain of this.lazyChains(digest)) {
      const dir = this.snapshotPath(chain);
      if (existsSync(dir)) return dir;
    }
    return undefined;
  }

  /**
   * A compressed blob in the store of the layer whose uncompressed tar is `digest` (its diffID): the
   * variants exports recorded (meta/variants/DIFFHEX.KEY.json). Undefined when there is none.
   */
  private lazyVariant(digest: string): string | undefined {
    if (!DIGEST_RE.test(digest)) return undefined;
    const prefix = `${hexOf(digest)}.`;
    let names: string[];
    try {
      names = readdirSync(this.dirs.variants).filter((n) => n.startsWith(prefix) && n.endsWith('.json')).sort();
    } catch {
      return undefined;
    }
    for (const n of names) {
      const d = this.variantRecordBlob(n);
      if (d && d !== digest) return d;
    }
    return undefined;
  }

  /** The blob a variant record (meta/variants/NAME) names, when the record parses and the blob is here. */
  private variantRecordBlob(name: string): string | undefined {
    try {
      const d = (JSON.parse(readFileSync(join(this.dirs.variants, name), 'utf8')) as { digest?: unknown }).digest;
      return typeof d === 'string' && DIGEST_RE.test(d) && this.hasBlob(d) ? d : undefined;
    } catch {
      return undefined; // a torn or foreign record
    }
  }

  /** The chainIDs a layer record names as sources of its blob (any of them will do). */
  private lazyChains(digest: string): string[] {
    try {
      const s = (JSON.parse(readFileSync(join(this.dirs.meta, `${hexOf(digest)}.json`), 'utf8')) as { snapshots?: unknown }).snapshots;
      return Array.isArray(s) ? s.filter((c): c is string => typeof c === 'string' && DIGEST_RE.test(c)) : [];
    } catch {
      return [];
    }
  }

  /** A blob file, or a lazy layer blob that can be made (see blobStream). */
  canReadBlob(digest: string): boolean {
    return this.hasBlob(digest) || this.lazySnapshot(digest) !== undefined || this.lazyVariant(digest) !== undefined;
  }

  private async *verifiedTar(src: AsyncIterable<Buffer>, digest: string, from: string): AsyncGenerator<Buffer> {
    const h = createHash('sha256');
    for await (const c of src) {
      h.update(c);
      yield c;
    }
    const got = `sha256:${h.digest('hex')}`;
    if (got !== digest) throw new UserError(`layer ${digest}: ${from} now gives ${got}: the store is corrupt (run system fsck)`);
  }

  /** Writes the file of a lazy layer blob (for readers of blobPath); a no-op when the file exists. */
  async ensureBlob(digest: string): Promise<void> {
    if (this.hasBlob(digest)) return;
    if (!this.canReadBlob(digest)) throw new UserError(`blob not found in store: ${digest}`);
    await this.withLock(`blob-${hexOf(digest)}`, async () => {
      if (!this.hasBlob(digest)) await this.putBlob(this.blobStream(digest), { digest });
    });
  }

  /**
   * Stores bytes under their sha256. Verified against `expect` (digest and/or size) before it becomes
   * visible; atomic; idempotent.
   */
  async putBlob(data: Buffer | Readable | AsyncIterable<Buffer>, expect: { digest?: string; size?: number } = {}): Promise<{ digest: string; size: number }> {
    if (expect.digest && !DIGEST_RE.test(expect.digest)) throw new UserError(`unsupported digest: ${expect.digest}`);
    await this.takeLease();
    if (Buffer.isBuffer(data)) {
      // bytes the store already has (a rebuild's config and manifest): no temp file, no fsync;
      // what the caller gave us is still verified against `expect` below when it differs
      const d = `sha256:${createHash('sha256').update(data).digest('hex')}`;
      if ((!expect.digest || d === expect.digest) && (expect.size === undefined || expect.size === data.length) && this.hasBlob(d)) {
        return { digest: d, size: data.length };
      }
    }
    const tmp = tempName(this.dirs.tmp, 'blob-');
    const fh = await open(tmp, 'wx', 0o644);
    const h = createHash('sha256');
    let size = 0;
    try {
      if (Buffer.isBuffer(data)) {
        h.update(data);
        size = data.length;
        await fh.writeFile(data);
      } else {
        for await (const c of data as AsyncIterable<Buffer>) {
          const b = typeof c === 'string' ? Buffer.from(c) : c;
          h.update(b);
          size += b.length;
          let off = 0;
          while (off < b.length) off += (await fh.write(b, off, b.length - off)).bytesWritten;
        }
      }
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS' || code === 'EIO') throw new UserError(`cannot write to the store at ${this.root}: ${(e as Error).message}`);
      throw e;
    }
    await fh.close();
    const digest = `sha256:${h.digest('hex')}`;
    if ((expect.digest && expect.digest !== digest) || (expect.size !== undefined && expect.size !== size)) {
      await unlink(tmp).catch(() => undefined);
      throw new UserError(
        expect.digest && expect.digest !== digest
          ? `digest mismatch: expected ${expect.digest}, got ${digest}`
          : `size mismatch for ${digest}: expected ${expect.size} bytes, got ${size}`,
      );
    }
    const final = this.blobPath(digest);
    if (existsSync(final)) {
      await unlink(tmp).catch(() => undefined);
    } else {
      await rename(tmp, final);
      await fsyncDir(this.dirs.blobs);
    }
    return { digest, size };
  }

  async putJson(obj: unknown, mediaType: string): Promise<Descriptor> {
    const { digest, size } = await this.putBlob(canonicalJson(obj));
    return { mediaType, digest, size };
  }

  // ---- layer metadata ----------------------------------------------------------------------

  /**
   * Records a layer's diffID and sizes (once per blob). With `snapshot`, a lazy layer blob: the
   * record adds that chainID to the snapshots its blob can be made from (the same layer on other
   * parents has other chains; any one that still exists will do), unless the blob file exists.
   */
  async recordLayer(info: LayerInfo): Promise<void> {
    const f = join(this.dirs.meta, `${hexOf(info.digest)}.json`);
    const chain = info.snapshot;
    if (chain === undefined || this.hasBlob(info.digest)) {
      if (!existsSync(f)) await writeFileAtomic(f, canonicalJson({ diffId: info.diffId, size: info.size, contentSize: info.contentSize }), this.dirs.tmp);
      return;
    }
    if (this.lazyChains(info.digest).includes(chain)) return;
    await this.withLock(`layer-${hexOf(info.digest)}`, async () => {
      const chains = this.lazyChains(info.digest);
      if (chains.includes(chain)) return;
      await writeFileAtomic(f, canonicalJson({ diffId: info.diffId, size: info.size, contentSize: info.contentSize, snapshots: [...chains, chain] }), this.dirs.tmp);
    });
  }

  /** diffID + uncompressed size of a stored layer (computed and recorded on first use). */
  async layerInfo(layer: Descriptor): Promise<LayerInfo> {
    const f = join(this.dirs.meta, `${hexOf(layer.digest)}.json`);
    let m: { diffId: string; size: number; contentSize?: number } | undefined;
    try {
      m = JSON.parse(await readFile(f, 'utf8')) as { diffId: string; size: number; contentSize?: number };
    } catch {
      m = undefined;
    }
    if (m && typeof m.contentSize === 'number') return { digest: layer.digest, diffId: m.diffId, size: m.size, contentSize: m.contentSize };
    if (m) await unlink(f).catch(() => undefined); // written by an older version: measure again
    if (!this.hasBlob(layer.digest)) throw new UserError(`layer blob missing from store: ${layer.digest}`);
    let measured;
    try {
      measured = await measureLayer(this.blobStream(layer.digest));
    } catch (e) {
      throw new UserError(`layer ${layer.digest} cannot be read: ${(e as Error).message.split('\n')[0]}`);
    }
    const info = { digest: layer.digest, ...measured };
    await this.recordLayer(info);
    return info;
  }

  /** Where the metadata cache of the build context at `dir` (an absolute path) lives. */
  contextCacheFile(dir: string): string {
    return join(this.dirs.contexts, createHash('sha256').update(dir).digest('hex'));
  }

  /**
   * The blob of layer `diffId` compressed as `key` (e.g. `gzip-6`), made by an earlier export, if it
   * is still in the store (gc removes blobs no image references; the record then just misses).
   */
  async layerVariant(diffId: string, key: string): Promise<Descriptor | undefined> {
    try {
      const d = JSON.parse(await readFile(join(this.dirs.variants, `${hexOf(diffId)}.${key}.json`), 'utf8')) as Descriptor;
      return this.hasBlob(d.digest) ? d : undefined;
    } catch {
      return undefined;
    }
  }

  async recordLayerVariant(diffId: string, key: string, d: Descriptor): Promise<void> {
    await writeFileAtomic(join(this.dirs.variants, `${hexOf(diffId)}.${key}.json`), canonicalJson({ mediaType: d.mediaType, digest: d.digest, size: d.size }), this.dirs.tmp);
  }

  // ---- index -------------------------------------------------------------------------------

  private async readIndex(): Promise<ImageIndex> {
    try {
      const idx = JSON.parse(await readFile(join(this.root, 'index.json'), 'utf8')) as ImageIndex;
      if (!Array.isArray(idx.manifests)) throw new Error('no manifests');
      return idx;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
      throw new UserError(`store index ${join(this.root, 'index.json')} is corrupt: ${(e as Error).message}`);
    }
  }

  private async writeIndex(idx: ImageIndex): Promise<void> {
    await writeFileAtomic(join(this.root, 'index.json'), Buffer.from(`${JSON.stringify(idx, null, 2)}\n`), this.dirs.tmp);
  }

  /** read-modify-write of index.json under the index lock */
  private async updateIndex<T>(fn: (idx: ImageIndex) => Promise<T> | T): Promise<T> {
    return this.withLock('index', async () => {
      const idx = await this.readIndex();
      const r = await fn(idx);
      await this.writeIndex(idx);
      return r;
    });
  }

  /** The raw index entries (for save, fsck, gc). */
  async indexEntries(): Promise<Descriptor[]> {
    return (await this.readIndex()).manifests;
  }

  /**
   * Stores an image: config (unless its blob is already present), manifest, and index entries for
   * `refs` (moved from whatever image had them). No refs = a dangling image, kept until rmi/prune.
   * All layers must already be in the store. `raw` keeps a pulled manifest/config byte-exact.
   */
  async putImage(manifest: ImageManifest, config: ImageConfig, refs: string[], raw: { manifest?: Buffer; config?: Buffer } = {}): Promise<Descriptor> {
    const tags = refs.map(normalizeTag);
    const same = await this.alreadyTagged(manifest, tags, raw);
    if (same) {
      await this.touchTagged(same.digest);
      return same;
    }
    await this.takeLease();
    let configDesc = manifest.config;
    if (raw.config) {
      const r = await this.putBlob(raw.config, configDesc?.digest ? { digest: configDesc.digest } : {});
      configDesc = { ...configDesc, mediaType: configDesc?.mediaType ?? MediaType.OciConfig, digest: r.digest, size: r.size };
    } else if (!configDesc?.digest || !this.hasBlob(configDesc.digest)) {
      const r = await this.putJson(config, configDesc?.mediaType ?? MediaType.OciConfig);
      if (configDesc?.digest && configDesc.digest !== r.digest) {
        throw new UserError(`config digest mismatch: manifest says ${configDesc.digest}, config hashes to ${r.digest}`);
      }
      configDesc = { ...configDesc, ...r };
    }
    let size = 0;
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw new UserError(`image config has ${diffIds.length} diff_ids but the manifest has ${manifest.layers.length} layers`);
    }
    for (const [i, l] of manifest.layers.entries()) {
      if (!this.canReadBlob(l.digest)) throw new UserError(`layer ${l.digest} is not in the store`);
      const info = await this.layerInfo(l);
      if (info.diffId !== diffIds[i]) throw new UserError(`layer ${i} (${l.digest}) has diffID ${info.diffId}, config says ${diffIds[i]}`);
      size += info.contentSize;
    }
    const m: ImageManifest = { ...manifest, config: configDesc };
    let mdesc: Descriptor;
    if (raw.manifest) {
      const r = await this.putBlob(raw.manifest);
      mdesc = { mediaType: manifest.mediaType ?? MediaType.OciManifest, ...r };
    } else {
      const body = manifestBody(m);
      mdesc = await this.putJson(body, body.mediaType as string);
    }
    const now = new Date().toISOString();
    const ann = (ref?: string): Record<string, string> => {
      const a: Record<string, string> = {};
      if (ref) a[Annotation.RefName] = ref;
      a[StoreAnnotation.Config] = configDesc.digest;
      a[StoreAnnotation.Size] = String(size);
      if (config.created) a[Annotation.Created] = config.created;
      a[StoreAnnotation.Tagged] = now;
      return a;
    };
    await this.updateIndex((idx) => {
      idx.manifests = idx.manifests.filter((d) => {
        const ref = d.annotations?.[Annotation.RefName];
        if (ref && tags.includes(ref)) return false; // tag moves to the new image
        if (!ref && d.digest === mdesc.digest) return false; // re-added below
        return true;
      });
      const has = idx.manifests.some((d) => d.digest === mdesc.digest);
      if (tags.length === 0) {
        if (!has) idx.manifests.push({ mediaType: mdesc.mediaType, digest: mdesc.digest, size: mdesc.size, annotations: ann() });
      } else {
        for (const t of tags) idx.manifests.push({ mediaType: mdesc.mediaType, digest: mdesc.digest, size: mdesc.size, annotations: ann(t) });
      }
    });
    return mdesc;
  }

  /**
   * A rebuild that changed nothing: every tag already names this manifest and its blobs are here.
   * Then nothing is written (no lease, no index rewrite; the tags keep their tagged time). A
   * concurrent rmi/tag reads as if it came after this build.
   */
  private async alreadyTagged(manifest: ImageManifest, tags: string[], raw: { manifest?: Buffer; config?: Buffer }): Promise<Descriptor | undefined> {
    if (tags.length === 0 || raw.manifest || raw.config || !manifest.config?.digest || !this.hasBlob(manifest.config.digest)) return undefined;
    const body = manifestBody(manifest);
    const bytes = canonicalJson(body);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (!this.hasBlob(digest)) return undefined;
    const idx = await this.readIndex();
    const tagged = (t: string) => idx.manifests.some((d) => d.digest === digest && d.annotations?.[Annotation.RefName] === t);
    return tags.every(tagged) ? { mediaType: body.mediaType as string, digest, size: bytes.length } : undefined;
  }

  /**
   * A no-op rebuild still names its image, and docker moves LastTagTime then: the time is the mtime of
   * an empty per-image file (one utimes; a lost update only leaves an older time).
   */
  private async touchTagged(manifestDigest: string): Promise<void> {
    const p = join(this.dirs.tagged, hexOf(manifestDigest));
    const now = new Date();
    await utimes(p, now, now).catch(() => writeFile(p, '')).catch(() => undefined);
  }

  // ---- images ------------------------------------------------------------------------------

  async listImages(): Promise<ImageRecord[]> {
    const idx = await this.readIndex();
    const by = new Map<string, ImageRecord>();
    for (const d of idx.manifests) {
      if (isIndexMediaType(d.mediaType)) continue;
      let r = by.get(d.digest);
      const a = d.annotations ?? {};
      if (!r) {
        let configDigest: string = a[StoreAnnotation.Config] ?? "";
        let size = Number(a[StoreAnnotation.Size] ?? NaN);
        let created: string | undefined = a[Annotation.Created];
        if (!configDigest || !Number.isFinite(size)) {
          // an entry written by another tool: compute from the blobs
          const img = await this.loadImage(d.digest, []);
          configDigest = img.configDigest;
          created = img.config.created;
          size = 0;
          for (const l of img.manifest.layers) size += (await this.layerInfo(l)).contentSize;
        }
        r = { refs: [], manifestDigest: d.digest, configDigest: configDigest as string, id: (configDigest as string).slice(7, 19), created, size, tagged: a[StoreAnnotation.Tagged] };
        by.set(d.digest, r);
      }
      const ref = a[Annotation.RefName];
      if (ref) r.refs.push(ref);
      if (a[StoreAnnotation.Tagged] && (!r.tagged || a[StoreAnnotation.Tagged] > r.tagged)) r.tagged = a[StoreAnnotation.Tagged];
    }
    for (const name of await readdir(this.dirs.tagged).catch(() => [] as string[])) {
      const r = by.get(`sha256:${name}`);
      if (!r) continue;
      const t = await stat(join(this.dirs.tagged, name)).then((s) => s.mtime.toISOString(), () => undefined);
      if (t && (!r.tagged || t > r.tagged)) r.tagged = t;
    }
    return [...by.values()];
  }

  private async loadImage(manifestDigest: string, refs: string[]): Promise<ResolvedImage> {
    const manifest = await this.readJson<ImageManifest>(manifestDigest);
    if (!manifest.config?.digest) throw new UserError(`manifest ${manifestDigest} has no config`);
    const config = await this.readJson<ImageConfig>(manifest.config.digest);
    return { manifestDigest, manifest, configDigest: manifest.config.digest, config, refs };
  }

  /**
   * Finds an image by `name[:tag]` (tag defaults to latest), `name@sha256:…` (manifest digest),
   * `sha256:…` (config or manifest digest), or an unambiguous prefix of the image ID.
   */
  async resolveImage(refOrId: string): Promise<ResolvedImage | undefined> {
    const recs = await this.listImages();
    const found = this.match(recs, refOrId);
    if (!found) return undefined;
    return this.loadImage(found.manifestDigest, found.refs);
  }

  private match(recs: ImageRecord[], q: string): ImageRecord | undefined {
    if (DIGEST_RE.test(q)) return recs.find((r) => r.configDigest === q) ?? recs.find((r) => r.manifestDigest === q);
    let ref: string | undefined;
    try {
      ref = normalizeRef(q);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const at = ref.indexOf('@');
      if (at >= 0) {
        const digest = ref.slice(at + 1);
        const repo = ref.slice(0, at);
        return recs.find((r) => r.manifestDigest === digest && r.refs.some((x) => x.startsWith(`${repo}:`))) ?? recs.find((r) => r.manifestDigest === digest);
      }
      const r = recs.find((x) => x.refs.includes(ref as string));
      if (r) return r;
    }
    const hex = q.startsWith('sha256:') ? q.slice(7) : q;
    if (/^[0-9a-f]{1,64}$/.test(hex)) {
      const ms = recs.filter((r) => r.configDigest.slice(7).startsWith(hex));
      const ids = new Set(ms.map((r) => r.configDigest));
      if (ids.size > 1) throw new UserError(`image ID prefix ${q} is ambiguous (${ids.size} images match)`);
      return ms[0];
    }
    return undefined;
  }

  /** resolveImage that throws "No such image" */
  async requireImage(refOrId: string): Promise<ResolvedImage> {
    const img = await this.resolveImage(refOrId);
    if (!img) throw new UserError(`No such image: ${refOrId}`);
    return img;
  }

  /** Points `newRef` at the image `refOrId` resolves to. */
  async tag(refOrId: string, newRef: string): Promise<void> {
    const tag = normalizeTag(newRef);
    const img = await this.requireImage(refOrId);
    const now = new Date().toISOString();
    await this.updateIndex((idx) => {
      const entry = idx.manifests.find((d) => d.digest === img.manifestDigest);
      if (!entry) throw new UserError(`No such image: ${refOrId}`);
      idx.manifests = idx.manifests.filter((d) => d.annotations?.[Annotation.RefName] !== tag && !(d.digest === img.manifestDigest && !d.annotations?.[Annotation.RefName]));
      idx.manifests.push({ ...entry, annotations: { ...entry.annotations, [Annotation.RefName]: tag, [StoreAnnotation.Tagged]: now } });
    });
  }

  /** Removes one tag; returns the manifest digest it pointed to and whether the image lost its last name. */
  async untag(ref: string): Promise<{ manifestDigest: string; lastRef: boolean } | undefined> {
    const tag = normalizeTag(ref);
    return this.updateIndex((idx) => {
      const e = idx.manifests.find((d) => d.annotations?.[Annotation.RefName] === tag);
      if (!e) return undefined;
      idx.manifests = idx.manifests.filter((d) => d !== e);
      const lastRef = !idx.manifests.some((d) => d.digest === e.digest);
      return { manifestDigest: e.digest, lastRef };
    });
  }

  /** Drops every index entry of an image (all its tags and its dangling entry). */
  async removeImage(manifestDigest: string): Promise<string[]> {
    return this.updateIndex((idx) => {
      const gone = idx.manifests.filter((d) => d.digest === manifestDigest);
      idx.manifests = idx.manifests.filter((d) => d.digest !== manifestDigest);
      return gone.map((d) => d.annotations?.[Annotation.RefName]).filter((x): x is string => !!x);
    });
  }

  // ---- snapshots ---------------------------------------------------------------------------

  snapshotPath(chainId: string): string {
    return join(this.dirs.snapshots, hexOf(chainId));
  }

  /**
   * Unpacked layer directories of an image, bottom→top, each holding ONE layer's files with
   * whiteouts as overlayfs expects them (char 0/0, opaque xattr): stack them as lowerdirs.
   * Cached by chainID; concurrent callers (in or across processes) unpack each layer once.
   */
  async layerSnapshots(img: ResolvedImage): Promise<string[]> {
    await this.takeLease();
    const diffIds = img.config.rootfs.diff_ids;
    const out: string[] = [];
    for (let i = 0; i < img.manifest.layers.length; i++) {
      const chain = chainIdOf(diffIds.slice(0, i + 1));
      const dir = this.snapshotPath(chain);
      if (!existsSync(dir)) {
        await this.withLock(`snapshot-${hexOf(chain)}`, async () => {
          if (existsSync(dir)) return;
          const tmp = await this.tmpDir('snap-');
          const target = join(tmp, 'fs');
          await mkdir(target);
          try {
            await applyLayer(this.blobStream((img.manifest.layers[i] as Descriptor).digest), target, { whiteouts: 'overlay' });
            await this.adoptSnapshot(chain, target, diffIds[i] as string);
          } finally {
            await rm(tmp, { recursive: true, force: true });
          }
        });
      }
      out.push(dir);
    }
    return out;
  }

  /**
   * Adopts `dir` (e.g. a RUN's overlay upper) as the snapshot for chainId, by rename, made durable
   * first (see the module comment). `diffId` (the top layer's) is recorded for fsck. Returns its path.
   */
  async commitSnapshot(chainId: string, dir: string, diffId?: string): Promise<string> {
    const dest = this.snapshotPath(chainId);
    await this.takeLease(); // not referenced by an image yet: keep prune away while we run
    return this.withLock(`snapshot-${hexOf(chainId)}`, async () => {
      if (existsSync(dest)) {
        // the same layer made again (--no-cache): deleting its files (1.5 GB / 100k files took 76 s
        // on the loaded 2-core VM) must not hold up the build: moved aside and removed by a detached
        // rm; if that dies, the dir is a stale temp (pid in its name) that prune and fsck remove
        const trash = join(this.dirs.tmp, `${process.pid}-trash-${randomBytes(4).toString('hex')}`);
        if (!(await rename(dir, trash).then(() => true, () => false))) {
          await rm(dir, { recursive: true, force: true });
          return dest;
        }
        spawn('rm', ['-rf', trash], { detached: true, stdio: 'ignore' }).on('error', () => undefined).unref();
        return dest;
      }
      await this.adoptSnapshot(chainId, dir, diffId);
      return dest;
    });
  }

  /** syncfs, record the diffID, rename into snapshots/, fsync the directory (under the snapshot's lock). */
  private async adoptSnapshot(chainId: string, dir: string, diffId: string | undefined): Promise<void> {
    await syncFilesystem(dir);
    if (diffId && DIGEST_RE.test(diffId)) await writeFileAtomic(this.snapshotMetaPath(chainId), canonicalJson({ diffId }), this.dirs.tmp);
    await rename(dir, this.snapshotPath(chainId));
    await fsyncDir(this.dirs.snapshots);
  }

  private snapshotMetaPath(chainId: string): string {
    return join(this.dirs.snapshotMeta, `${hexOf(chainId)}.json`);
  }

  /** The diffID recorded when the snapshot was made (undefined for one made by an older version). */
  async snapshotDiffId(chainId: string): Promise<string | undefined> {
    try {
      const d = (JSON.parse(await readFile(this.snapshotMetaPath(chainId), 'utf8')) as { diffId?: string }).diffId;
      return d && DIGEST_RE.test(d) ? d : undefined;
    } catch {
      return undefined;
    }
  }

  /** Removes a snapshot (renamed away first, so a reader never sees half of it) and its record. */
  async removeSnapshot(chainId: string): Promise<void> {
    const trash = join(this.dirs.tmp, `${process.pid}-gc-${randomBytes(4).toString('hex')}`);
    await rename(this.snapshotPath(chainId), trash);
    await unlink(this.snapshotMetaPath(chainId)).catch(() => undefined);
    await rm(trash, { recursive: true, force: true });
  }

  // ---- maintenance -------------------------------------------------------------------------

  /** digests reachable from index.json (manifests, nested indexes, configs, layers); chains: chainID → top diffID */
  async reachableBlobs(): Promise<{ reachable: Set<string>; missing: string[]; chains: Map<string, string> }> {
    const reachable = new Set<string>();
    const missing: string[] = [];
    const chains = new Map<string, string>();
    const visit = async (d: Descriptor): Promise<void> => {
      if (reachable.has(d.digest)) return;
      reachable.add(d.digest);
      if (!this.hasBlob(d.digest)) {
        missing.push(d.digest);
        return;
      }
      if (isIndexMediaType(d.mediaType)) {
        const ix = await this.readJson<ImageIndex>(d.digest);
        for (const m of ix.manifests ?? []) await visit(m);
        return;
      }
      const m = await this.readJson<ImageManifest>(d.digest);
      if (m.config?.digest) {
        reachable.add(m.config.digest);
        if (!this.hasBlob(m.config.digest)) missing.push(m.config.digest);
        else {
          try {
            const c = await this.readJson<ImageConfig>(m.config.digest);
            const ids = c.rootfs?.diff_ids ?? [];
            for (let i = 1; i <= ids.length; i++) chains.set(chainIdOf(ids.slice(0, i)), ids[i - 1] as string);
          } catch {
            /* reported by fsck */
          }
        }
      }
      for (const l of m.layers ?? []) {
        reachable.add(l.digest);
        if (this.hasBlob(l.digest) || this.lazySnapshot(l.digest)) continue;
        // a lazy blob whose snapshot is gone lives on in a compressed variant: keep that one
        const v = this.lazyVariant(l.digest);
        if (v) reachable.add(v);
        else missing.push(l.digest);
      }
    };
    for (const d of (await this.readIndex()).manifests) await visit(d);
    // other modules' roots (containers keep their image's blobs and snapshots alive after `rmi -f`)
    for (const provider of this.gcRoots) {
      for (const md of await provider(this)) {
        if (this.hasBlob(md)) await visit({ mediaType: MediaType.OciManifest, digest: md, size: 0 });
      }
    }
    return { reachable, missing, chains };
  }

  /**
   * Registers a source of extra gc roots: manifest digests that `gc`, `reachableBlobs` (and so
   * `system df`/`fsck`) keep alive though no index entry names them. The store knows no record
   * format of its users; the containers module registers its images (`containerImageRoots`).
   */
  addGcRoots(provider: GcRoots): this {
    this.gcRoots.add(provider);
    return this;
  }

  /**
   * Deletes blobs (and layer metadata) no image nor registered gc root (`addGcRoots`) references;
   * with `snapshots`, also unpacked layers of none. Skips (busy=true) when another process holds the GC lease (it may be mid-write).
   */
  async gc(opts: { snapshots?: boolean } = {}): Promise<{ blobs: number; bytes: number; snapshots: number; busy: boolean }> {
    await this.release();
    const lock = await acquireLock(this.dirs.locks, 'gc', { waitMs: 2000 });
    if (!lock) return { blobs: 0, bytes: 0, snapshots: 0, busy: true };
    try {
      return await this.withLock('index', async () => {
        const { reachable, chains } = await this.reachableBlobs();
        let blobs = 0;
        let bytes = 0;
        for (const name of await readdir(this.dirs.blobs)) {
          if (!HEX64.test(name)) continue;
          const d = `sha256:${name}`;
          if (reachable.has(d)) continue;
          const p = join(this.dirs.blobs, name);
          bytes += (await stat(p).catch(() => ({ size: 0 }))).size;
          await unlink(p).catch(() => undefined);
          await unlink(join(this.dirs.meta, `${name}.json`)).catch(() => undefined);
          blobs++;
        }
        let snaps = 0;
        if (opts.snapshots) {
          for (const name of await readdir(this.dirs.snapshots)) {
            if (!HEX64.test(name) || chains.has(`sha256:${name}`)) continue;
            await this.removeSnapshot(`sha256:${name}`);
            snaps++;
          }
          // records whose snapshot never arrived (a kill between the record and the rename)
          for (const name of await readdir(this.dirs.snapshotMeta).catch(() => [] as string[])) {
            const hex = name.replace(/\.json$/, '');
            if (HEX64.test(hex) && !existsSync(join(this.dirs.snapshots, hex))) await unlink(join(this.dirs.snapshotMeta, name)).catch(() => undefined);
          }
        }
        // layer records of lazy blobs (no file) that no image references and whose snapshots are
        // gone (while one is left, the build cache can still use the layer), and export variants
        // whose blob is gone: nothing can make or use them
        for (const name of await readdir(this.dirs.meta).catch(() => [] as string[])) {
          const hex = name.replace(/\.json$/, '');
          if (!HEX64.test(hex) || reachable.has(`sha256:${hex}`) || existsSync(join(this.dirs.blobs, hex))) continue;
          if (this.lazySnapshot(`sha256:${hex}`) !== undefined) continue;
          await unlink(join(this.dirs.meta, name)).catch(() => undefined);
        }
        for (const name of await readdir(this.dirs.tagged).catch(() => [] as string[])) {
          if (!HEX64.test(name) || !reachable.has(`sha256:${name}`)) await unlink(join(this.dirs.tagged, name)).catch(() => undefined);
        }
        for (const name of await readdir(this.dirs.variants).catch(() => [] as string[])) {
          if (!this.variantRecordBlob(name)) await unlink(join(this.dirs.variants, name)).catch(() => undefined);
        }
        if (blobs) await fsyncDir(this.dirs.blobs);
        return { blobs, bytes, snapshots: snaps, busy: false };
      });
    } finally {
      await lock.release();
    }
  }

  /** Temp files and dirs left behind by dead processes (name starts with or contains their pid). */
  async staleTemps(): Promise<string[]> {
    const out: string[] = [];
    for (const name of await readdir(this.dirs.tmp).catch(() => [] as string[])) {
      const m = /^(?:blob-|\.w-)?(\d+)-/.exec(name);
      if (!m || !pidAlive(Number(m[1]))) out.push(join(this.dirs.tmp, name));
    }
    for (const dir of [this.root, this.dirs.blobs, this.dirs.meta, this.dirs.contexts, this.dirs.variants]) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const m = /^\.w-(\d+)-.*\.tmp$/.exec(name);
        if (m && !pidAlive(Number(m[1]))) out.push(join(dir, name));
      }
    }
    // build cache records of older versions were written to KEY.json.PID.RAND.tmp beside the record
    const records = join(this.root, 'buildcache');
    for (const name of await readdir(records).catch(() => [] as string[])) {
      const m = /^[0-9a-f]+\.json\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name);
      if (m && !pidAlive(Number(m[1]))) out.push(join(records, name));
    }
    return out;
  }
}

/** The manifest as the store writes it (fixed key order; optional fields only when set). */
function manifestBody(m: ImageManifest): ImageManifest {
  const body: ImageManifest = { schemaVersion: 2, mediaType: m.mediaType ?? MediaType.OciManifest, config: m.config, layers: m.layers };
  if (m.artifactType) body.artifactType = m.artifactType;
  if (m.subject) body.subject = m.subject;
  if (m.annotations) body.annotations = m.annotations;
  return body;
}
