/**
 * An image, wherever it lives → ImageModel: the one part of analysis that reads disk. The image
 * source (src/source: store, archives, OCI layout, Docker Engine, registry) streams every layer blob
 * once through the image package's decompressor and tar reader, hashing file contents and keeping
 * the text of the few small files the leak rules read; layer attribution comes from the layer
 * descriptors' annotations written by `stagecraft build` (see src/solver/attribution.ts).
 */
import { createHash } from 'node:crypto';
import { cleanEntryName, decompress, readTar, type HistoryEntry } from '../image/index.js';
import type { Store } from '../store/index.js';
import { storeSource, type ImageSource } from '../source/index.js';
import { attributionFromAnnotations } from '../solver/attribution.js';
import { GoBuildInfoScanner } from './goinfo.js';
import { wantsContent } from './leaks.js';
import { packageBytesLimit } from './packages.js';
import type { ImageModel, LayerEntry, LayerModel } from './model.js';

/** One layer blob → its entries. */
async function layerEntries(blob: AsyncIterable<Buffer>): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  for await (const e of readTar(decompress(blob))) {
    const path = cleanEntryName(e.name).join('/');
    if (path === '') continue;
    const entry: LayerEntry = { path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.type === 'file' ? e.size : 0 };
    if (e.linkname !== undefined) entry.linkname = e.linkname;
    if (e.type === 'file') {
      const h = createHash('sha256');
      const keep = wantsContent(path, e.size);
      const keepBytes = e.size <= packageBytesLimit(path);
      const go = (e.mode & 0o111) !== 0 && e.size > 1024 ? new GoBuildInfoScanner() : undefined;
      const chunks: Buffer[] = [];
      for await (const c of e.body) {
        h.update(c);
        if (keep || keepBytes) chunks.push(c);
        go?.push(c);
      }
      entry.sha256 = h.digest('hex');
      if (keep) entry.content = Buffer.concat(chunks).toString('utf8');
      if (keepBytes) entry.data = Buffer.concat(chunks);
      const bi = go?.result();
      if (bi !== undefined) entry.goBuildInfo = bi;
    }
    entries.push(entry);
  }
  return entries;
}

/** Reads an image from any source (or, given a store and a name, from the store). */
export async function loadImageModel(src: ImageSource): Promise<ImageModel>;
export async function loadImageModel(store: Store, refOrId: string): Promise<ImageModel>;
export async function loadImageModel(a: ImageSource | Store, refOrId?: string): Promise<ImageModel> {
  const source = refOrId === undefined ? (a as ImageSource) : storeSource(a as Store, refOrId);
  const { image: img, layers: layerEntryLists } = await source.read(layerEntries);
  const history = img.config.history ?? [];
  const layerHistory = history.filter((h) => !h.empty_layer);
  const layers: LayerModel[] = img.manifest.layers.map((desc, index) => {
    const h: HistoryEntry | undefined = layerHistory[index];
    return {
      index,
      digest: desc.digest,
      diffId: img.config.rootfs.diff_ids[index] ?? '',
      compressedSize: desc.size,
      createdBy: h?.created_by,
      history: h,
      attribution: attributionFromAnnotations(desc.annotations),
      entries: layerEntryLists[index] ?? [],
    };
  });
  return {
    name: img.name,
    id: img.configDigest.slice(7, 19),
    layers,
    history: history.filter((x) => x.empty_layer),
    ...(img.config.config?.WorkingDir ? { workingDir: img.config.config.WorkingDir } : {}),
  };
}
