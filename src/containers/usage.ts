/**
 * What containers use of the store: each container's copy-on-write layer (`upper/`), as `system
 * df`'s Containers row (docker's SizeRw) and `container prune`'s reclaimed space count it; and the
 * images they run, as gc roots (`containerImageRoots`, registered with `Store.addGcRoots`).
 */
import { lstatSync, readdirSync } from 'node:fs';
import type { GcRoots, Store } from '../store/index.js';
import { listContainers, upperDir } from './records.js';

/** Bytes of the regular files under `p` (0 when it is gone). */
export function duBytes(p: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const q = `${d}/${n}`;
      const st = lstatSync(q);
      if (st.isDirectory()) walk(q);
      else if (st.isFile()) total += st.size;
    }
  };
  try {
    walk(p);
  } catch {
    /* ignore */
  }
  return total;
}

/** docker's system df Containers row: all, running, their layers' bytes, the stopped ones' bytes (and each one's, for -v). */
export async function containerDiskUsage(store: Store): Promise<{ total: number; active: number; size: number; reclaimable: number; sizes: Map<string, number> }> {
  const all = await listContainers(store);
  let size = 0;
  let reclaimable = 0;
  const sizes = new Map<string, number>();
  for (const c of all) {
    const b = duBytes(upperDir(store, c.id));
    sizes.set(c.id, b);
    size += b;
    if (c.state.status !== 'running') reclaimable += b;
  }
  return { total: all.length, active: all.filter((c) => c.state.status === 'running').length, size, reclaimable, sizes };
}

/** The manifests containers run: gc roots, so `rmi -f` / prune keep a container's image data. */
export const containerImageRoots: GcRoots = async (store) => (await listContainers(store)).map((c) => c.config?.manifestDigest).filter((d): d is string => typeof d === 'string');
