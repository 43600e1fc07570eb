/**
 * Where blobs came from: digest → `registry/repository` names it was pulled from or pushed to.
 * Push uses it to mount a blob from another repository of the same registry instead of uploading
 * it (docker keeps the same record in its distribution metadata). Kept as one small JSON file in
 * the store's cache dir; losing it only costs an upload.
 */
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../store/index.js';

type Sources = Record<string, string[]>;
const MAX_PER_BLOB = 8;

function file(store: Store): string {
  return join(store.dirs.cache, 'registry-blob-sources.json');
}

async function load(store: Store): Promise<Sources> {
  try {
    return JSON.parse(await readFile(file(store), 'utf8')) as Sources;
  } catch {
    return {};
  }
}

/** Remembers that `digests` exist in `registry/repo`. */
export async function recordBlobSource(store: Store, registry: string, repo: string, digests: string[]): Promise<void> {
  const s = await load(store);
  const name = `${registry}/${repo}`;
  for (const d of digests) {
    const list = (s[d] ?? []).filter((x) => x !== name);
    list.unshift(name);
    s[d] = list.slice(0, MAX_PER_BLOB);
  }
  const f = file(store);
  await mkdir(join(f, '..'), { recursive: true });
  const t = `${f}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(t, JSON.stringify(s));
  await rename(t, f);
}

/** Other repositories of `registry` known to hold `digest` (most recent first). */
export async function blobSources(store: Store, registry: string, repo: string, digest: string): Promise<string[]> {
  const s = await load(store);
  const prefix = `${registry}/`;
  return (s[digest] ?? []).filter((n) => n.startsWith(prefix) && n !== `${registry}/${repo}`).map((n) => n.slice(prefix.length));
}
