/**
 * Stored image → ImageModel: the one part of analysis that reads disk. Streams every layer blob
 * through the image package's decompressor and tar reader once, hashing file contents and keeping
 * the text of the few small files the leak rules read; layer attribution comes from the layer
 * descriptors' annotations written by `stagecraft build` (see src/solver/attribution.ts).
 */
import { createHash } from 'node:crypto';
import { cleanEntryName, decompress, readTar, type HistoryEntry } from '../image/index.js';
import { normalizeRef, type Store } from '../store/index.js';
import { attributionFromAnnotations } from '../solver/attribution.js';
import { UserError } from '../util/errors.js';
import { GoBuildInfoScanner } from './goinfo.js';
import { wantsContent } from './leaks.js';
import type { ImageModel, LayerEntry, LayerModel } from './model.js';

export async function loadImageModel(store: Store, refOrId: string): Promise<ImageModel> {
  const img = await store.resolveImage(refOrId);
  if (!img) throw new UserError(`No such image: ${refOrId}`);
  const history = img.config.history ?? [];
  const layerHistory = history.filter((h) => !h.empty_layer);
  const layers: LayerModel[] = [];
  for (const [index, desc] of img.manifest.layers.entries()) {
    const entries: LayerEntry[] = [];
    for await (const e of readTar(decompress(store.blobStream(desc.digest)))) {
      const path = cleanEntryName(e.name).join('/');
      if (path === '') continue;
      const entry: LayerEntry = { path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.type === 'file' ? e.size : 0 };
      if (e.linkname !== undefined) entry.linkname = e.linkname;
      if (e.type === 'file') {
        const h = createHash('sha256');
        const keep = wantsContent(path, e.size);
        const go = (e.mode & 0o111) !== 0 && e.size > 1024 ? new GoBuildInfoScanner() : undefined;
        const chunks: Buffer[] = [];
        for await (const c of e.body) {
          h.update(c);
          if (keep) chunks.push(c);
          go?.push(c);
        }
        entry.sha256 = h.digest('hex');
        if (keep) entry.content = Buffer.concat(chunks).toString('utf8');
        const bi = go?.result();
        if (bi !== undefined) entry.goBuildInfo = bi;
      }
      entries.push(entry);
    }
    const h: HistoryEntry | undefined = layerHistory[index];
    layers.push({
      index,
      digest: desc.digest,
      diffId: img.config.rootfs.diff_ids[index] ?? '',
      compressedSize: desc.size,
      createdBy: h?.created_by,
      history: h,
      attribution: attributionFromAnnotations(desc.annotations),
      entries,
    });
  }
  return {
    name: img.refs[0] ? normalizeRef(img.refs[0]) : refOrId,
    id: img.configDigest.slice(7, 19),
    layers,
    history: history.filter((x) => x.empty_layer),
    ...(img.config.config?.WorkingDir ? { workingDir: img.config.config.WorkingDir } : {}),
  };
}
