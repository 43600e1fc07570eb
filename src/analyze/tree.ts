/**
 * Layer stack → final file tree. Applies OCI whiteouts (`.wh.name` deletes `name` and everything
 * under it; `.wh..wh..opq` hides everything lower layers put in that directory) and remembers, for
 * every path in the final image, which layer put it there, and for every byte of every layer whether
 * it is still visible or was wasted (overwritten or deleted by a later layer).
 */
import type { LayerEntry, LayerModel } from './model.js';

export interface TreeNode {
  entry: LayerEntry;
  /** Index of the layer whose version of the path is visible. */
  layer: number;
}

export interface WastedEntry {
  path: string;
  size: number;
  /** Layer that wrote the bytes. */
  layer: number;
  /** Layer that hid them. */
  hiddenBy: number;
  /** `duplicated`: overwritten by a byte-identical copy (e.g. `COPY --from=build / /`). */
  how: 'overwritten' | 'duplicated' | 'deleted';
}

export interface MergedTree {
  nodes: Map<string, TreeNode>;
  wasted: WastedEntry[];
}

const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}
function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** Removes `path` and everything below it from the tree, recording lost bytes as waste. */
function removeSubtree(nodes: Map<string, TreeNode>, path: string, by: number, wasted: WastedEntry[], keepSelf = false): void {
  const prefix = path === '' ? '' : `${path}/`;
  for (const [p, n] of nodes) {
    if ((p === path && !keepSelf) || (prefix === '' ? p !== '' : p.startsWith(prefix))) {
      if (n.layer < by && n.entry.type === 'file' && n.entry.size > 0) {
        wasted.push({ path: p, size: n.entry.size, layer: n.layer, hiddenBy: by, how: 'deleted' });
      }
      nodes.delete(p);
    }
  }
}

export function mergeLayers(layers: LayerModel[]): MergedTree {
  const nodes = new Map<string, TreeNode>();
  const wasted: WastedEntry[] = [];
  for (const layer of layers) {
    // Opaque markers and whiteouts apply to lower layers only: handle them before this layer's files.
    for (const e of layer.entries) {
      const base = basename(e.path);
      if (base === OPAQUE) removeSubtree(nodes, dirname(e.path), layer.index, wasted, true);
      else if (base.startsWith(WH)) removeSubtree(nodes, `${dirname(e.path) ? `${dirname(e.path)}/` : ''}${base.slice(WH.length)}`, layer.index, wasted);
    }
    for (const e of layer.entries) {
      const base = basename(e.path);
      if (base.startsWith(WH)) continue;
      const prev = nodes.get(e.path);
      if (prev && prev.entry.type === 'file' && prev.entry.size > 0 && prev.layer < layer.index) {
        const same = prev.entry.sha256 !== undefined && prev.entry.sha256 === e.sha256;
        wasted.push({ path: e.path, size: prev.entry.size, layer: prev.layer, hiddenBy: layer.index, how: same ? 'duplicated' : 'overwritten' });
      }
      if (prev && prev.entry.type === 'dir' && e.type !== 'dir') removeSubtree(nodes, e.path, layer.index, wasted, true);
      nodes.set(e.path, { entry: e, layer: layer.index });
    }
  }
  return { nodes, wasted };
}
