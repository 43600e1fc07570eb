/**
 * dive's image metrics, computed the way dive computes them (wagoodman/dive `filetree/efficiency.go`,
 * `image/analysis.go`), so that `analyze` and `dive` agree to the last digit. In: the layers of an
 * image model. Out: efficiency, wasted bytes, user-wasted percent and dive's "inefficient files".
 *
 * dive's rules, quirks included:
 * - each layer is a tree built from its tar entries; paths a layer does not list but needs as parents
 *   are nodes with empty metadata (size 0, not a directory). `.wh..wh..opq` entries are dropped, so
 *   opaque directories hide nothing.
 * - only leaves (nodes without children) of each layer count: per path, the cumulative size over all
 *   layers and the smallest size seen. A `.wh.NAME` leaf counts under the path NAME: as 0 bytes when
 *   NAME was a file below, as the size of the whole deleted subtree when it was a directory (looked
 *   up in the stack of the layers below; for layer 0, in layer 0 itself). A whiteout of a path that
 *   is not there stops the walk of that layer (dive logs the error and goes on with the next layer)
 *   and leaves an entry whose smallest size is -1.
 * - efficiency = sum of smallest sizes / sum of cumulative sizes (1 when nothing was seen); wasted
 *   bytes = sum of cumulative sizes of the paths seen in two or more layers (the visible copy too);
 *   user-wasted percent = wasted bytes / bytes of all layers but the first (NaN or Infinity when the
 *   image has one layer, as in Go). A layer's size is the sum of its tar entries' sizes (hard links
 *   and whiteouts are 0).
 */
import type { LayerEntry, LayerModel } from './model.js';

export interface DiveInefficiency {
  /** Absolute path, as dive prints it. */
  path: string;
  /** How many layers had this path as a leaf (dive's "Count"). */
  count: number;
  /** Bytes summed over those layers (dive's "Wasted Space"). */
  cumulativeSize: number;
  /** The smallest size seen. */
  minSize: number;
}

export interface DiveAnalysis {
  efficiency: number;
  wastedBytes: number;
  /** wastedBytes / userSizeBytes (a ratio, as dive's `WastedUserPercent`). */
  userWastedPercent: number;
  sizeBytes: number;
  /** Bytes of every layer but the first. */
  userSizeBytes: number;
  /** Per layer, the sum of its tar entries' sizes (dive's layer size). */
  layerSizes: number[];
  /** Paths seen in two or more layers, largest cumulative size first (dive's order). */
  inefficiencies: DiveInefficiency[];
}

interface Info {
  size: number;
  isDir: boolean;
}
const EMPTY: Info = { size: 0, isDir: false };

class Node {
  children = new Map<string, Node>();
  private cachedPath?: string;
  constructor(
    readonly name: string,
    public info: Info,
    readonly parent?: Node,
  ) {}
  isLeaf(): boolean {
    return this.children.size === 0;
  }
  isWhiteout(): boolean {
    return this.name.startsWith(WH);
  }
  /** The node's path from the root; a whiteout leaf names the path it deletes. */
  path(): string {
    if (this.cachedPath === undefined) {
      const names: string[] = [];
      for (let n: Node | undefined = this; n?.parent; n = n.parent) names.unshift(n === this && n.isWhiteout() ? n.name.slice(WH.length) : n.name);
      this.cachedPath = `/${names.join('/')}`.replace(/\/\//g, '/');
    }
    return this.cachedPath;
  }
  sortedChildren(): Node[] {
    return [...this.children.keys()].sort(byteOrder).map((k) => this.children.get(k) as Node);
  }
}

const WH = '.wh.';
const OPQ_PREFIX = '.wh..wh..';

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class Tree {
  root = new Node('', EMPTY);

  addPath(path: string, info: Info): void {
    const names = path.split('/').filter((n) => n !== '' && n !== '.');
    let node = this.root;
    for (const [i, name] of names.entries()) {
      let child = node.children.get(name);
      if (!child) {
        if (name.startsWith(OPQ_PREFIX)) return; // dive drops opaque markers (and anything below one)
        child = new Node(name, EMPTY, node);
        node.children.set(name, child);
      }
      node = child;
      if (i === names.length - 1) node.info = info;
    }
  }

  getNode(path: string): Node | undefined {
    let node = this.root;
    for (const name of path.split('/')) {
      if (name === '') continue;
      const c = node.children.get(name);
      if (!c) return undefined;
      node = c;
    }
    return node;
  }

  removePath(path: string): void {
    const n = this.getNode(path);
    if (n && n.parent) n.parent.children.delete(n.name);
  }

  copy(): Tree {
    const t = new Tree();
    const rec = (src: Node, dst: Node): void => {
      for (const [k, c] of src.children) {
        const n = new Node(k, c.info, dst);
        dst.children.set(k, n);
        rec(c, n);
      }
    };
    rec(this.root, t.root);
    return t;
  }

  /** dive's FileTree.Stack: whiteouts remove, everything else (implicit parents too) is added. */
  stack(upper: Tree): void {
    visitChildFirst(upper.root, (n) => {
      if (n.isWhiteout()) this.removePath(n.path());
      else this.addPath(n.path(), n.info);
      return true;
    });
  }
}

/** Depth first, children in byte order before their parent, never the root; stops when `visit` returns false. */
function visitChildFirst(node: Node, visit: (n: Node) => boolean, only?: (n: Node) => boolean): boolean {
  for (const c of node.sortedChildren()) if (!visitChildFirst(c, visit, only)) return false;
  if (!node.parent) return true;
  if (only && !only(node)) return true;
  return visit(node);
}

function entryInfo(e: LayerEntry): Info {
  return { size: e.type === 'file' ? e.size : 0, isDir: e.type === 'dir' };
}

function layerTree(l: LayerModel): { tree: Tree; size: number } {
  const tree = new Tree();
  let size = 0;
  for (const e of l.entries) {
    const info = entryInfo(e);
    size += info.size;
    tree.addPath(e.path, info);
  }
  return { tree, size };
}

export function diveAnalysis(layers: LayerModel[]): DiveAnalysis {
  const built = layers.map(layerTree);
  const trees = built.map((b) => b.tree);
  const data = new Map<string, { path: string; count: number; cumulative: number; min: number }>();
  const inefficient: Array<{ path: string; count: number; cumulative: number; min: number }> = [];
  let stacked: Tree | undefined;
  trees.forEach((tree, idx) => {
    // the layers below this one, stacked (for layer 0: layer 0 itself, as dive's StackTreeRange(0, -1))
    const below = idx === 0 ? tree : (stacked as Tree);
    visitChildFirst(
      tree.root,
      (node) => {
        const path = node.path();
        let d = data.get(path);
        if (!d) {
          d = { path, count: 0, cumulative: 0, min: -1 };
          data.set(path, d);
        }
        let size = 0;
        if (node.isWhiteout()) {
          const prev = below.getNode(path);
          if (!prev) return false; // dive: "path does not exist" ends this layer's walk
          if (prev.info.isDir) {
            visitChildFirst(prev, (n) => {
              size += n.info.size;
              return true;
            });
            // visitChildFirst skips a parentless node; prev always has a parent here
          }
        } else size = node.info.size;
        d.cumulative += size;
        if (d.min < 0 || size < d.min) d.min = size;
        d.count++;
        if (d.count === 2) inefficient.push(d);
        return true;
      },
      (n) => n.isLeaf(),
    );
    if (idx === 0) {
      stacked = trees[0].copy();
      stacked.stack(trees[0]);
    } else (stacked as Tree).stack(tree);
  });
  let minimum = 0;
  let discovered = 0;
  for (const d of data.values()) {
    minimum += d.min;
    discovered += d.cumulative;
  }
  const layerSizes = built.map((b) => b.size);
  const sizeBytes = layerSizes.reduce((s, x) => s + x, 0);
  const userSizeBytes = sizeBytes - (layerSizes[0] ?? 0);
  const wastedBytes = inefficient.reduce((s, d) => s + d.cumulative, 0);
  return {
    efficiency: discovered === 0 ? 1 : minimum / discovered,
    wastedBytes,
    userWastedPercent: wastedBytes / userSizeBytes,
    sizeBytes,
    userSizeBytes,
    layerSizes,
    // dive sorts ascending (stable for small lists) and prints in reverse: ties come last-found first
    inefficiencies: inefficient
      .map((d) => ({ path: d.path, count: d.count, cumulativeSize: d.cumulative, minSize: d.min }))
      .sort((a, b) => a.cumulativeSize - b.cumulativeSize)
      .reverse(),
  };
}

/** go-humanize's Bytes (what dive prints): SI units, `80 B`, `1.2 kB`, `34 MB`. */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : val.toFixed(0)} ${sizes[e]}`;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, ki: 1024, kib: 1024,
  m: 1e6, mb: 1e6, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1e9, gb: 1e9, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1e12, tb: 1e12, ti: 1024 ** 4, tib: 1024 ** 4,
  p: 1e15, pb: 1e15, pi: 1024 ** 5, pib: 1024 ** 5,
};

/** go-humanize's ParseBytes (dive's highestWastedBytes): `20MB`, `19Mb`, `1.5 GiB`, `1,000`. Throws on junk. */
export function parseHumanBytes(s: string): number {
  const m = /^([\d.,]*)(.*)$/.exec(s) as RegExpExecArray;
  const num = Number(m[1].replace(/,/g, ''));
  const unit = BYTE_UNITS[m[2].trim().toLowerCase()];
  if (m[1] === '' || !Number.isFinite(num) || /\..*\./.test(m[1])) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(m[1])}: invalid syntax`);
  if (unit === undefined) throw new Error(`unhandled size name: ${m[2].trim().toLowerCase()}`);
  return Math.floor(num * unit);
}
