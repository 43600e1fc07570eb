/**
 * Compresses one file as a layer export does (image/compress.ts: pigz-style parallel gzip in worker
 * threads, or zstd with its worker threads), for timing against single-core `gzip -6`:
 *   npx tsx bench/compress-file.ts gzip|zstd|gzip1 IN OUT [LEVEL]
 * (`gzip1` = the same gzip on one core). See bench/export-vs-gzip.sh.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipParallel, zstdCompress } from '../src/image/compress.js';

const [kind, input, output, level] = process.argv.slice(2);
if (!kind || !input || !output) {
  console.error('usage: compress-file.ts gzip|zstd|gzip1 IN OUT [LEVEL]');
  process.exit(2);
}
const src = createReadStream(input, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
const lv = level === undefined ? undefined : Number(level);
const out = kind === 'zstd' ? zstdCompress(src, { level: lv }) : gzipParallel(src, { level: lv, workers: kind === 'gzip1' ? 1 : undefined });
await pipeline(Readable.from(out), createWriteStream(output));
