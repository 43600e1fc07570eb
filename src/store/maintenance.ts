/**
 * Store maintenance: `system df` (usage), `system prune` (dangling images, unreferenced blobs and
 * snapshots, stale temp files) and `system fsck` (every blob re-hashed, every reference present,
 * index parseable; stale temp files from killed processes removed; with `snapshots`, every unpacked
 * snapshot re-read against its diffID, and with `repair` the bad ones removed: they are a cache,
 * unpacked again from their blob or rebuilt). Returns data; the CLI prints it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, rm, stat, lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Annotation, type ImageConfig, type ImageManifest } from '../image/types.js';
import type { ImageRecord, Store } from './store.js';
import { detachMountsUnder } from './mounts.js';
import { acquireLock } from './lock.js';
import { verifySnapshot } from './verify.js';

const HEX64 = /^[0-9a-f]{64}$/;

async function duBytes(dir: string): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const seen = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      entries++;
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      if (st.isDirectory()) await walk(p);
      else if (st.isFile()) bytes += st.size;
    }
  };
  await walk(dir);
  return { bytes, entries };
}

export interface DfRow {
  type: string;
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

export async function diskUsage(store: Store): Promise<DfRow[]> {
  const images = await store.listImages();
  const { reachable, chains } = await store.reachableBlobs();
  let blobCount = 0;
  let blobBytes = 0;
  let unrefBytes = 0;
  let active = 0;
  for (const n of await readdir(store.dirs.blobs)) {
    if (!HEX64.test(n)) continue;
    const st = await stat(join(store.dirs.blobs, n)).catch(() => undefined);
    if (!st) continue;
    blobCount++;
    blobBytes += st.size;
    if (reachable.has(`sha256:${n}`)) active++;
    else unrefBytes += st.size;
  }
  // images: unique uncompressed layer bytes
  const layerSizes = new Map<string, number>();
  let dangling = 0;
  for (const r of images) {
    const m = await store.readJson<ImageManifest>(r.manifestDigest).catch(() => undefined);
    for (const l of m?.layers ?? []) if (!layerSizes.has(l.digest)) layerSizes.set(l.digest, (await store.layerInfo(l).catch(() => ({ contentSize: 0 }))).contentSize);
    if (r.refs.length === 0) dangling += r.size;
  }
  const imageBytes = [...layerSizes.values()].reduce((a, b) => a + b, 0);
  let snapCount = 0;
  let snapBytes = 0;
  let snapUnref = 0;
  for (const n of await readdir(store.dirs.snapshots).catch(() => [] as string[])) {
    if (!HEX64.test(n)) continue;
    const u = await duBytes(join(store.dirs.snapshots, n));
    snapCount++;
    snapBytes += u.bytes;
    if (!chains.has(`sha256:${n}`)) snapUnref += u.bytes;
  }
  // the same entries as `system df -v` lists (one per RUN cache mount)
  const caches = await buildCacheUsage(store);
  const cache = { entries: caches.length, bytes: caches.reduce((a, c) => a + c.size, 0) };
  return [
    { type: 'Images', total: images.length, active: images.filter((i) => i.refs.length > 0).length, size: imageBytes, reclaimable: dangling },
    { type: 'Blobs', total: blobCount, active, size: blobBytes, reclaimable: unrefBytes },
    { type: 'Snapshots', total: snapCount, active: snapCount, size: snapBytes, reclaimable: snapUnref },
    { type: 'Build Cache', total: cache.entries, active: 0, size: cache.bytes, reclaimable: cache.bytes },
  ];
}

export interface ImageUsage {
  rec: ImageRecord;
  /** bytes of its layers that other images use too (docker's SharedSize) */
  shared: number;
}

/** `system df -v`'s images: each image with the part of its size it shares with other images. */
export async function imageUsage(store: Store): Promise<ImageUsage[]> {
  const images = await store.listImages();
  const layers = new Map<string, string[]>();
  const users = new Map<string, number>();
  const sizes = new Map<string, number>();
  for (const r of images) {
    const m = await store.readJson<ImageManifest>(r.manifestDigest).catch(() => undefined);
    const ds = [...new Set((m?.layers ?? []).map((l) => l.digest))];
    layers.set(r.manifestDigest, ds);
    for (const l of m?.layers ?? []) {
      if (!sizes.has(l.digest)) sizes.set(l.digest, (await store.layerInfo(l).catch(() => ({ contentSize: 0 }))).contentSize);
    }
    for (const d of ds) users.set(d, (users.get(d) ?? 0) + 1);
  }
  return images.map((rec) => ({ rec, shared: (layers.get(rec.manifestDigest) ?? []).filter((d) => (users.get(d) ?? 0) > 1).reduce((a, d) => a + (sizes.get(d) ?? 0), 0) }));
}

export interface CacheUsage {
  /** the cache mount directory's name */
  id: string;
  size: number;
  created: number;
  lastUsed: number;
}

/** `system df -v`'s build cache: the RUN cache mounts (`cache/`), each with its bytes and times. */
export async function buildCacheUsage(store: Store): Promise<CacheUsage[]> {
  const out: CacheUsage[] = [];
  for (const n of (await readdir(store.dirs.cache).catch(() => [] as string[])).sort()) {
    const p = join(store.dirs.cache, n);
    const st = await stat(p).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    out.push({ id: n, size: (await duBytes(p)).bytes, created: st.birthtimeMs || st.ctimeMs, lastUsed: Math.max(st.mtimeMs, st.atimeMs) });
  }
  return out.sort((a, b) => b.lastUsed - a.lastUsed);
}

/**
 * Removes the temp files and dirs of dead processes. What a killed builder of an older version (or
 * a power cut) left mounted there is detached first, so removal cannot fail with EBUSY.
 */
async function removeStaleTemps(store: Store): Promise<{ removed: string[]; unmounted: string[]; failed: string[] }> {
  const removed: string[] = [];
  const unmounted: string[] = [];
  const failed: string[] = [];
  for (const t of await store.staleTemps()) {
    unmounted.push(...detachMountsUnder(t));
    try {
      await rm(t, { recursive: true, force: true, maxRetries: 3 });
      removed.push(t);
    } catch (e) {
      failed.push(`${t}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return { removed, unmounted, failed };
}

export interface PruneResult {
  images: string[];
  blobs: number;
  snapshots: number;
  temps: number;
  /** mount points a dead process left in the store, detached */
  unmounted: string[];
  /** stale temp dirs that could not be removed, with the reason */
  failed: string[];
  bytes: number;
  busy: boolean;
}

/** Removes dangling (untagged) images, then everything unreferenced. */
export async function prune(store: Store, opts: { keepDangling?: boolean } = {}): Promise<PruneResult> {
  const removed: string[] = [];
  if (!opts.keepDangling) {
    for (const r of await store.listImages()) {
      if (r.refs.length > 0) continue;
      await store.removeImage(r.manifestDigest);
      removed.push(r.configDigest);
    }
  }
  const t = await removeStaleTemps(store);
  const g = await store.gc({ snapshots: true });
  return { images: removed, blobs: g.blobs, snapshots: g.snapshots, temps: t.removed.length, unmounted: t.unmounted, failed: t.failed, bytes: g.bytes, busy: g.busy };
}

export interface FsckResult {
  blobs: number;
  images: number;
  problems: string[];
  removedTemps: string[];
  /** mount points a dead process left in the store, detached */
  unmounted: string[];
  /** with `snapshots`: how many were verified, and the chainIDs of bad ones `repair` removed */
  snapshots?: number;
  removedSnapshots: string[];
}

export interface FsckOptions {
  /** re-read every snapshot against its diffID (reads everything) */
  snapshots?: boolean;
  /** remove the snapshots that fail (they are unpacked again or rebuilt when next needed) */
  repair?: boolean;
}

/** Blob digest holding each diffID: layer metadata, or an uncompressed blob (digest = diffID). */
async function blobsByDiffId(store: Store): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of await readdir(store.dirs.meta).catch(() => [] as string[])) {
    const m = /^([0-9a-f]{64})\.json$/.exec(n);
    if (!m || !store.hasBlob(`sha256:${m[1]}`)) continue;
    try {
      const d = (JSON.parse(await readFile(join(store.dirs.meta, n), 'utf8')) as { diffId?: string }).diffId;
      if (d && !out.has(d)) out.set(d, `sha256:${m[1]}`);
    } catch {
      /* unreadable metadata: reported by the blob checks */
    }
  }
  return out;
}

/** Verifies every snapshot; bad ones are problems, or removed with `repair`. */
async function checkSnapshots(store: Store, repair: boolean, chains: Map<string, string>, problems: string[]): Promise<{ checked: number; removed: string[] }> {
  const blobs = await blobsByDiffId(store);
  const bad: Array<{ chain: string; why: string }> = [];
  let checked = 0;
  for (const n of (await readdir(store.dirs.snapshots).catch(() => [] as string[])).sort()) {
    if (!HEX64.test(n)) continue;
    const chain = `sha256:${n}`;
    checked++;
    const diffId = (await store.snapshotDiffId(chain)) ?? chains.get(chain);
    if (!diffId) {
      bad.push({ chain, why: 'no diffID recorded for it (made by an older version), cannot verify' });
      continue;
    }
    const blob = blobs.get(diffId) ?? (store.hasBlob(diffId) ? diffId : undefined);
    const why = await verifySnapshot(join(store.dirs.snapshots, n), diffId, blob ? () => store.blobStream(blob) : undefined);
    if (why) bad.push({ chain, why: `(layer ${diffId}): ${why}` });
  }
  const removed: string[] = [];
  if (bad.length && repair) {
    // exclusive GC lock: no build or container of another process is using a snapshot meanwhile
    const lock = await acquireLock(store.dirs.locks, 'gc', { waitMs: 2000 });
    if (!lock) problems.push('another stagecraft process is using the store: bad snapshots were not removed');
    else {
      try {
        for (const b of bad) {
          await store.removeSnapshot(b.chain);
          removed.push(`${b.chain} ${b.why}`);
        }
      } finally {
        await lock.release();
      }
    }
  }
  if (!removed.length) for (const b of bad) problems.push(`bad snapshot ${b.chain} ${b.why}`);
  return { checked, removed };
}

async function hashFile(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/** Checks the whole store; removes temp files of dead processes. `problems` empty = clean. */
export async function fsck(store: Store, opts: FsckOptions = {}): Promise<FsckResult> {
  const t = await removeStaleTemps(store);
  const problems: string[] = t.failed.map((f) => `cannot remove stale temp dir ${f}`);
  const removedTemps = t.removed;
  const unmounted = t.unmounted;
  let blobs = 0;
  for (const n of await readdir(store.dirs.blobs)) {
    const p = join(store.dirs.blobs, n);
    if (!HEX64.test(n)) {
      problems.push(`unexpected file in blobs/sha256: ${n}`);
      continue;
    }
    blobs++;
    const d = await hashFile(p);
    if (d !== `sha256:${n}`) problems.push(`corrupt blob sha256:${n} (content hashes to ${d})`);
  }
  let raw: string;
  try {
    raw = await readFile(join(store.root, 'index.json'), 'utf8');
    JSON.parse(raw);
  } catch (e) {
    problems.push(`index.json unreadable: ${(e as Error).message}`);
    return { blobs, images: 0, problems, removedTemps, unmounted, removedSnapshots: [] };
  }
  const entries = await store.indexEntries();
  const { missing, chains } = await store.reachableBlobs().catch((e: Error) => {
    problems.push(`cannot walk images: ${e.message}`);
    return { missing: [] as string[], chains: new Map<string, string>() };
  });
  for (const m of missing) problems.push(`missing blob ${m} (referenced by an image)`);
  const manifests = new Set(entries.map((e) => e.digest));
  for (const md of manifests) {
    if (!store.hasBlob(md)) continue;
    try {
      const m = await store.readJson<ImageManifest>(md);
      if (m.config?.digest && store.hasBlob(m.config.digest)) {
        const c = await store.readJson<ImageConfig>(m.config.digest);
        const ids = c.rootfs?.diff_ids ?? [];
        if (ids.length !== (m.layers ?? []).length) problems.push(`image ${md}: config and manifest disagree on the number of layers`);
        // recorded layer metadata must agree with the config (cheap: no decompression)
        for (const [i, l] of (m.layers ?? []).entries()) {
          try {
            const meta = JSON.parse(await readFile(join(store.dirs.meta, `${l.digest.slice(7)}.json`), 'utf8')) as { diffId?: string };
            if (meta.diffId && meta.diffId !== ids[i]) problems.push(`layer ${l.digest}: recorded diffID ${meta.diffId} but image ${md} says ${ids[i]}`);
          } catch {
            /* not measured yet: fine */
          }
        }
      }
    } catch (e) {
      problems.push(`image ${md}: ${(e as Error).message}`);
    }
  }
  for (const e of entries) {
    const ref = e.annotations?.[Annotation.RefName];
    if (ref !== undefined && ref === '') problems.push(`index entry ${e.digest} has an empty name`);
  }
  const snaps = opts.snapshots ? await checkSnapshots(store, !!opts.repair, chains, problems) : undefined;
  return { blobs, images: manifests.size, problems, removedTemps, unmounted, snapshots: snaps?.checked, removedSnapshots: snaps?.removed ?? [] };
}
