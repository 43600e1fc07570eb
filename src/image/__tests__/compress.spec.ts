/**
 * Layer compression: parallel gzip members are one valid gzip stream (gzip -t, GNU tar, our reader),
 * identical whatever the number of workers; zstd output is valid for the zstd CLI; sniffing works.
 * Throughput is measured by bench/layers.ts, not here.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decompress, gzipParallel, sniffCompression, zstdCompress } from '../index.js';

function textData(mb: number): Buffer {
  const words = Array.from({ length: 4000 }, () => randomBytes(1 + Math.floor(Math.random() * 8)).toString('hex'));
  const parts: string[] = [];
  let n = 0;
  while (n < mb * 1024 * 1024) {
    const w = words[Math.floor(Math.random() * words.length)] as string;
    parts.push(w);
    n += w.length + 1;
  }
  return Buffer.from(parts.join(' '));
}

async function* chunks(b: Buffer, size = 1 << 20): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function all(g: AsyncIterable<Buffer>): Promise<Buffer> {
  const p: Buffer[] = [];
  for await (const c of g) p.push(c);
  return Buffer.concat(p);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('layer compression', () => {
  const data = textData(12);

  it('parallel gzip is valid multi-member gzip, independent of the worker count', async () => {
    const one = await all(gzipParallel(chunks(data), { workers: 1 }));
    const two = await all(gzipParallel(chunks(data, 777_777), { workers: 2 }));
    expect(one.equals(two)).toBe(true);
    // an exact multiple of the piece size gives no trailing empty member, with any worker count
    const exact = data.subarray(0, 3 * (1 << 21));
    const e1 = await all(gzipParallel(chunks(exact), { workers: 1 }));
    expect(e1.equals(await all(gzipParallel(chunks(exact, 1 << 21), { workers: 2 })))).toBe(true);
    expect(e1.equals(await all(gzipParallel(chunks(exact, 12345), { workers: 3 })))).toBe(true);
    const f = join(mkdtempSync(join(tmpdir(), 'sc-gz-')), 'x.gz');
    writeFileSync(f, two);
    execFileSync('gzip', ['-t', f]);
    expect(sha(execFileSync('gzip', ['-dc', f], { maxBuffer: 1 << 30 }))).toBe(sha(data));
    expect(sha(await all(decompress(Readable.from([two]))))).toBe(sha(data));
    expect(sniffCompression(two)).toBe('gzip');
  });

  it('handles empty input', async () => {
    const z = await all(gzipParallel(chunks(Buffer.alloc(0))));
    expect((await all(decompress(Readable.from([z])))).length).toBe(0);
  });

  it('zstd output is valid for the zstd CLI and our reader', async () => {
    const z = await all(zstdCompress(chunks(data)));
    expect(sniffCompression(z)).toBe('zstd');
    const f = join(mkdtempSync(join(tmpdir(), 'sc-zst-')), 'x.zst');
    writeFileSync(f, z);
    expect(sha(execFileSync('zstd', ['-dc', f], { maxBuffer: 1 << 30 }))).toBe(sha(data));
    expect(sha(await all(decompress(Readable.from([z]))))).toBe(sha(data));
  });

  it('passes plain data through and reports corrupt gzip', async () => {
    expect(sha(await all(decompress(Readable.from([data.subarray(0, 5000)]))))).toBe(sha(data.subarray(0, 5000)));
    const z = await all(gzipParallel(chunks(data.subarray(0, 100_000))));
    await expect(all(decompress(Readable.from([z.subarray(0, z.length - 100)])))).rejects.toThrow();
  });
});
