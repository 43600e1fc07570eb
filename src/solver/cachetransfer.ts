/**
 * `--cache-from` / `--cache-to` by transport: specs in, opened imports (for the engine's cache
 * lookups) and exports out. `type=local` is a directory (cacheio.ts), `type=registry` an OCI
 * artifact in a registry (cacheregistry.ts); both carry the same record blob and layer blobs.
 * An unusable import is a one-line warning; a failed export throws (the engine reports it).
 */
import type { Store } from '../store/index.js';
import { exportCache, openLocalImport, type CacheFromSpec, type CacheToSpec, type ExportedRecord, type ImportedCache } from './cacheio.js';
import { exportRegistryCache, openRegistryImport } from './cacheregistry.js';

export async function openImports(specs: CacheFromSpec[], warn: (line: string) => void): Promise<ImportedCache[]> {
  const out: ImportedCache[] = [];
  for (const s of specs) {
    const imp = s.type === 'registry' ? await openRegistryImport(s.ref, s.insecure, warn) : await openLocalImport(s.src, warn);
    if (imp) out.push(imp);
  }
  return out;
}

/** BuildKit's name of the export vertex. */
export function exportVertexName(spec: CacheToSpec): string {
  return spec.type === 'registry' ? 'exporting cache to registry' : 'exporting cache to client directory';
}

export async function exportCacheTo(store: Store, spec: CacheToSpec, records: Map<string, ExportedRecord>, status: (line: string) => void): Promise<void> {
  if (spec.type === 'registry') {
    await exportRegistryCache(store, spec.ref, spec.insecure, records, status);
    return;
  }
  status(`writing ${records.size} cache records to ${spec.dest}`);
  await exportCache(store, spec.dest, records);
}
