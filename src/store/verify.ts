/**
 * Snapshot verification (`system fsck --snapshots`). In: a snapshot dir (overlay format: char 0/0
 * whiteouts) and the diffID recorded for it. Out: undefined when the dir holds that layer, else the
 * reason. Reads everything. First the dir is packed again (the builder's deterministic tar) and
 * hashed: a snapshot made from a RUN or COPY packs to its diffID exactly. A layer made by another
 * tool (a pulled or imported base) does not re-pack byte for byte, so when a blob of that diffID is
 * in the store the dir is compared with the blob's entries instead: every file's size and sha256,
 * every symlink target, directory and whiteout must be there (an empty or truncated file after a
 * power cut is what this catches).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { WH_PREFIX, cleanEntryName, decompress, measureLayer, packDir, readTar, whiteoutFileOf } from '../image/index.js';

type Expect = { kind: 'file'; size: number; sha: string } | { kind: 'symlink'; target: string } | { kind: 'dir' | 'whiteout' | 'other' };


export async function verifySnapshot(dir: string, diffId: string, blob?: () => Readable): Promise<string | undefined> {
  let packed: string;
  try {
    packed = (await measureLayer(packDir(dir, { overlayUpper: true }))).diffId;
  } catch (e) {
    return `cannot read it: ${(e as Error).message.split('\n')[0]}`;
  }
  if (packed === diffId) return undefined;
  if (!blob) return `content packs to ${packed}, recorded diffID ${diffId} (no layer blob to compare with)`;
  try {
    return await compareWithLayer(dir, blob());
  } catch (e) {
    return `cannot compare it with its layer blob: ${(e as Error).message.split('\n')[0]}`;
  }
}

/** The first difference between `dir` and the layer tar `src` (compressed or not), or undefined. */
async function compareWithLayer(dir: string, src: Readable): Promise<string | undefined> {
  const want = new Map<string, Expect>();
  for await (const e of readTar(decompress(src))) {
    const rel = cleanEntryName(e.name);
    if (rel.length === 0) continue;
    const base = rel[rel.length - 1] as string;
    if (base.startsWith(WH_PREFIX)) {
      // opaque markers and aufs metadata are xattrs / nothing in overlay format
      // (a whiteout of a path this layer made itself is ignored, as the extractor does)
      const victim = [...rel.slice(0, -1), base.slice(WH_PREFIX.length)].join('/');
      if (!base.startsWith(`${WH_PREFIX}${WH_PREFIX}`) && !want.has(victim)) want.set(victim, { kind: 'whiteout' });
      continue;
    }
    const p = rel.join('/');
    if (e.type === 'file') {
      const h = createHash('sha256');
      let size = 0;
      for await (const c of e.body) {
        h.update(c);
        size += c.length;
      }
      want.set(p, { kind: 'file', size, sha: h.digest('hex') });
    } else if (e.type === 'symlink') want.set(p, { kind: 'symlink', target: e.linkname ?? '' });
    else if (e.type === 'dir') want.set(p, { kind: 'dir' });
    else want.set(p, { kind: 'other' }); // hard links, devices, fifos: present is enough
  }
  for (const [p, w] of want) {
    const host = join(dir, p);
    const st = await lstat(host).catch(() => undefined);
    // a whiteout may be a `.wh.NAME` file where mknod is refused (worker/snapshot/upper.ts)
    if (w.kind === 'whiteout' && !st && (await lstat(whiteoutFileOf(host)).catch(() => undefined))?.isFile()) continue;
    if (!st) return `${p} is missing`;
    if (w.kind === 'file') {
      if (!st.isFile()) return `${p} is not a regular file`;
      if (st.size !== w.size) return `${p} has ${st.size} bytes, its layer ${w.size}`;
      const h = createHash('sha256');
      for await (const c of createReadStream(host, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
      if (h.digest('hex') !== w.sha) return `${p} differs from its layer`;
    } else if (w.kind === 'symlink') {
      if (!st.isSymbolicLink() || (await readlink(host)) !== w.target) return `${p} is not the symlink of its layer`;
    } else if (w.kind === 'dir' && !st.isDirectory()) return `${p} is not a directory`;
    else if (w.kind === 'whiteout' && !(st.isCharacterDevice() && st.rdev === 0)) return `${p}: whiteout missing`;
  }
  return undefined;
}
