/**
 * The file explorer's data (what dive's TUI shows): image layers → a path trie plus, per layer, the
 * paths it added, modified and removed with their sizes, replaying whiteouts (`.wh.NAME` removes a
 * path and its subtree, `.wh..wh..opq` a directory's lower contents). Compact, for embedding in the
 * HTML report: node names and parents as two arrays (a parent's id is always below its children's),
 * each layer's changes as one flat number array of (node, size, code) triples, where
 * code = kind * 8 + type (kind 0 added, 1 modified, 2 removed; type 0 file, 1 dir, 2 symlink,
 * 3 hard link, 4 other). A directory that a layer merely lists again is not a change. Pure.
 */
import type { EntryType, LayerModel } from '../analyze/model.js';

export interface ExplorerData {
  names: string[];
  parent: number[];
  layers: Array<{ ch: number[] }>;
}

const TYPE: Record<EntryType, number> = { file: 0, dir: 1, symlink: 2, link: 3, char: 4, block: 4, fifo: 4 };
export const ADDED = 0;
export const MODIFIED = 1;
export const REMOVED = 2;

export function explorerData(layers: LayerModel[]): ExplorerData {
  const names: string[] = ['/'];
  const parent: number[] = [-1];
  const kids: Array<Map<string, number> | undefined> = [undefined];
  /** what is visible now: node → [size, type] */
  const present = new Map<number, [number, number]>([[0, [0, 1]]]);
  const child = (p: number, name: string): number => {
    let m = kids[p];
    if (!m) kids[p] = m = new Map();
    let id = m.get(name);
    if (id === undefined) {
      id = names.length;
      names.push(name);
      parent.push(p);
      kids.push(undefined);
      m.set(name, id);
    }
    return id;
  };
  const nodeOf = (path: string): number => {
    let n = 0;
    for (const part of path.split('/')) if (part) n = child(n, part);
    return n;
  };
  const out: ExplorerData['layers'] = [];
  for (const layer of layers) {
    const ch: number[] = [];
    const remove = (n: number, self: boolean): void => {
      const m = kids[n];
      if (m) for (const c of m.values()) if (present.has(c)) remove(c, true);
      const was = present.get(n);
      if (self && was && n !== 0) {
        ch.push(n, was[0], REMOVED * 8 + was[1]);
        present.delete(n);
      }
    };
    // whiteouts apply to lower layers: first
    for (const e of layer.entries) {
      const slash = e.path.lastIndexOf('/');
      const dir = slash < 0 ? '' : e.path.slice(0, slash);
      const base = e.path.slice(slash + 1);
      if (!base.startsWith('.wh.')) continue;
      if (base === '.wh..wh..opq') remove(nodeOf(dir), false);
      else {
        const target = nodeOf(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
        if (present.has(target)) remove(target, true);
      }
    }
    for (const e of layer.entries) {
      if (e.path.slice(e.path.lastIndexOf('/') + 1).startsWith('.wh.')) continue;
      const n = nodeOf(e.path);
      // parents a tar leaves implicit exist from here on
      for (let p = parent[n] as number; p > 0 && !present.has(p); p = parent[p] as number) {
        present.set(p, [0, 1]);
        ch.push(p, 0, ADDED * 8 + 1);
      }
      const t = TYPE[e.type];
      const size = e.type === 'file' ? e.size : 0;
      const was = present.get(n);
      if (was && was[1] === 1 && t === 1) continue; // a directory listed again
      if (was && was[1] === 1) remove(n, false); // a directory replaced by a file
      ch.push(n, size, (was ? MODIFIED : ADDED) * 8 + t);
      present.set(n, [size, t]);
    }
    out.push({ ch });
  }
  return { names, parent, layers: out };
}
