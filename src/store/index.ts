/**
 * The local content-addressed store (an OCI image layout plus builder state): blobs by digest,
 * images and tags in index.json, unpacked layer snapshots by chainID, cross-process locks, garbage
 * collection and fsck. See store.ts for the on-disk layout and the crash-safety rules.
 */
export { Store, defaultRoot, chainIdOf, isDigest, StoreAnnotation, type GcRoots, type ResolvedImage, type ImageRecord, type LayerInfo } from './store.js';
export { normalizeRef, normalizeTag, parseRef, splitRef, qualifiedRef, type ParsedRef } from '../reference/index.js';
export { writeFileAtomic, fsyncDir, pidAlive } from './atomic.js';
export { acquireLock, type HeldLock } from './lock.js';
export { diskUsage, imageUsage, buildCacheUsage, prune, fsck, type DfRow, type ImageUsage, type CacheUsage, type PruneResult, type FsckResult, type FsckOptions } from './maintenance.js';
export { mountsUnder, detachMountsUnder } from './mounts.js';
