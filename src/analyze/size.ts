/**
 * Size accounting: per layer (bytes added, files, bytes still visible, bytes wasted), per stage and
 * instruction (which part of the Dockerfile the final image's bytes came from), per top-level
 * directory; dive's metrics exactly as dive computes them (`efficiency`, `wastedBytes`,
 * `userWastedPercent`, see dive.ts) and stagecraft's own plainer figures beside them
 * (`visibleRatio` = visible bytes / bytes in all layers, `hiddenBytes` = bytes later layers hide).
 */
import { diveAnalysis, type DiveAnalysis } from './dive.js';
import type { ImageModel } from './model.js';
import { layerLabel, stageOf } from './packages.js';
import { mergeLayers, type MergedTree } from './tree.js';

export interface LayerStats {
  index: number;
  digest: string;
  createdBy: string;
  stage: string;
  line?: number;
  from?: string;
  files: number;
  bytes: number;
  visibleBytes: number;
  wastedBytes: number;
  compressedSize: number;
}

export interface Bucket {
  key: string;
  bytes: number;
  files: number;
}

export interface SizeReport {
  layers: LayerStats[];
  totalBytes: number;
  finalBytes: number;
  /** dive's wasted bytes: every copy of each path that two or more layers hold (see dive.ts). */
  wastedBytes: number;
  /** dive's efficiency score (see dive.ts). */
  efficiency: number;
  /** dive's user-wasted percent, as a ratio: wastedBytes / bytes of all layers but the first. */
  userWastedPercent: number;
  /** stagecraft's: bytes visible in the final tree / bytes in all layers (1.0 = nothing hidden). */
  visibleRatio: number;
  /** stagecraft's: bytes of all layers that the final tree does not show (deleted or overwritten). */
  hiddenBytes: number;
  /** dive's full analysis (sizes as dive counts them, inefficient files). */
  dive: DiveAnalysis;
  /** Visible bytes by the stage that produced them (COPY --from counts for the source stage). */
  byStage: Bucket[];
  /** Visible bytes by the Dockerfile instruction that put them in the image. */
  byInstruction: Bucket[];
  /** Visible bytes by top-level (and second-level) directory. */
  byDir: Bucket[];
  /** Bytes written by all layers (visible or not) by directory: what `docker images` SIZE adds up. */
  byDirWritten: Bucket[];
  /** Bytes re-written with identical content (copies of files the image already had). */
  duplicatedBytes: number;
  /** Largest visible files. */
  largest: Array<{ path: string; size: number; layer: number }>;
  tree: MergedTree;
}

function bucketize(map: Map<string, Bucket>, key: string, bytes: number): void {
  const b = map.get(key) ?? { key, bytes: 0, files: 0 };
  b.bytes += bytes;
  b.files += 1;
  map.set(key, b);
}

/** The bucket of a path: its first two directory levels (`/usr/lib`), or the top one for shallow paths. */
function dirKey(path: string): string {
  const parts = path.split('/');
  return parts.length > 2 ? `/${parts[0]}/${parts[1]}` : `/${parts[0]}`;
}

const sorted = (m: Map<string, Bucket>): Bucket[] => [...m.values()].sort((a, b) => b.bytes - a.bytes || a.key.localeCompare(b.key));

export function sizeReport(img: ImageModel): SizeReport {
  const tree = mergeLayers(img.layers);
  const visible = new Map<number, number>();
  const byStage = new Map<string, Bucket>();
  const byInstruction = new Map<string, Bucket>();
  const byDir = new Map<string, Bucket>();
  const largest: SizeReport['largest'] = [];
  let finalBytes = 0;
  for (const [path, n] of tree.nodes) {
    if (n.entry.type !== 'file') continue;
    const size = n.entry.size;
    finalBytes += size;
    visible.set(n.layer, (visible.get(n.layer) ?? 0) + size);
    const layer = img.layers[n.layer];
    bucketize(byStage, stageOf(layer), size);
    bucketize(byInstruction, `${layer.attribution?.line ? `L${layer.attribution.line} ` : ''}${layerLabel(layer)}`, size);
    bucketize(byDir, dirKey(path), size);
    largest.push({ path: `/${path}`, size, layer: n.layer });
  }
  largest.sort((a, b) => b.size - a.size || a.path.localeCompare(b.path));
  const byDirWritten = new Map<string, Bucket>();
  for (const l of img.layers) {
    for (const e of l.entries) {
      if (e.type !== 'file' || e.path.split('/').pop()?.startsWith('.wh.')) continue;
      bucketize(byDirWritten, dirKey(e.path), e.size);
    }
  }
  const duplicatedBytes = tree.wasted.filter((w) => w.how === 'duplicated').reduce((s, w) => s + w.size, 0);
  const wastedBy = new Map<number, number>();
  for (const w of tree.wasted) wastedBy.set(w.layer, (wastedBy.get(w.layer) ?? 0) + w.size);
  const layers: LayerStats[] = img.layers.map((l) => {
    const bytes = l.entries.reduce((s, e) => s + (e.type === 'file' ? e.size : 0), 0);
    return {
      index: l.index,
      digest: l.digest,
      createdBy: layerLabel(l),
      stage: stageOf(l),
      line: l.attribution?.line,
      from: l.attribution?.from,
      files: l.entries.filter((e) => e.type !== 'dir').length,
      bytes,
      visibleBytes: visible.get(l.index) ?? 0,
      wastedBytes: wastedBy.get(l.index) ?? 0,
      compressedSize: l.compressedSize,
    };
  });
  const totalBytes = layers.reduce((s, l) => s + l.bytes, 0);
  const dive = diveAnalysis(img.layers);
  return {
    layers,
    totalBytes,
    finalBytes,
    wastedBytes: dive.wastedBytes,
    efficiency: dive.efficiency,
    userWastedPercent: dive.userWastedPercent,
    visibleRatio: totalBytes === 0 ? 1 : finalBytes / totalBytes,
    hiddenBytes: totalBytes - finalBytes,
    dive,
    byStage: sorted(byStage),
    byInstruction: sorted(byInstruction),
    byDir: sorted(byDir),
    byDirWritten: sorted(byDirWritten),
    duplicatedBytes,
    largest: largest.slice(0, 20),
    tree,
  };
}
