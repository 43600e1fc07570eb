/**
 * Layer compression: parallel gzip (pigz-style blocks) is one valid gzip stream (gzip -d, our
 * reader) for any input, chunking and block size, identical whatever the number of workers; zstd output is valid for the zstd CLI; sniffing works;
 * decompression in a worker thread (large streams) gives the same bytes and the same errors as in
 * this thread. Throughput is measured by bench/layers.ts, not here.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decompress, gzipParallel, sniffCompression, zstdCompress } from '../index.js';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { crc32Combine, DECOMPRESS_WORKER_MIN } from '../compress.js';

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

  it('parallel gzip is one valid gzip stream, independent of the worker count', async () => {
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

  it('property: gzip -d of parallel gzip gives the input back, for any data, chunking and block size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sc-gzp-'));
    // pieces of text and random bytes (compressible and not), with matches across block boundaries
    const input = fc
      .array(fc.oneof(fc.uint8Array({ maxLength: 70_000 }), fc.constantFrom(...[0, 1, 2].map((k) => data.subarray(k * 50_000, k * 50_000 + 90_000)))), { maxLength: 6 })
      .map((parts) => Buffer.concat(parts.map((p) => Buffer.from(p))));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(input, fc.integer({ min: 1, max: 80_000 }), fc.integer({ min: 2000, max: 100_000 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 9 }), async (buf, chunk, piece, workers, level) => {
        const gz = await all(gzipParallel(chunks(buf, chunk), { piece, workers, level }));
        const f = join(dir, `p${n++}.gz`);
        writeFileSync(f, gz);
        expect(execFileSync('gzip', ['-dc', f], { maxBuffer: 1 << 28 }).equals(buf)).toBe(true);
        // the same bytes with any worker count
        expect((await all(gzipParallel(chunks(buf, 4096), { piece, workers: 1, level }))).equals(gz)).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('crc32Combine matches the CRC of the concatenation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.uint8Array({ maxLength: 5000 }), (a, b) => {
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
      }),
    );
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

  it('decompresses in a worker thread exactly as in this thread, errors included', async () => {
    const gz = await all(gzipParallel(chunks(data)));
    const zst = await all(zstdCompress(chunks(data)));
    expect(gz.length).toBeGreaterThan(DECOMPRESS_WORKER_MIN); // the default takes the worker too
    for (const z of [gz, zst]) {
      const here = await all(decompress(chunks(z, 100_000), { workerMin: Number.MAX_SAFE_INTEGER }));
      const worker = await all(decompress(chunks(z, 100_000), { workerMin: 0 }));
      expect(sha(worker)).toBe(sha(data));
      expect(sha(here)).toBe(sha(data));
    }
    for (const workerMin of [0, Number.MAX_SAFE_INTEGER]) {
      await expect(all(decompress(chunks(gz.subarray(0, gz.length - 1000)), { workerMin }))).rejects.toThrow(/^corrupt gzip stream: unexpected end of file/);
      const bad = Buffer.from(gz);
      bad.fill(0xff, 5000, 5100);
      await expect(all(decompress(chunks(bad), { workerMin }))).rejects.toThrow(/^corrupt gzip stream: /);
    }
    // a source that fails mid-way fails the stream
    async function* failing(): AsyncGenerator<Buffer> {
      yield gz.subarray(0, 300_000);
      throw new Error('disk on fire');
    }
    await expect(all(decompress(failing(), { workerMin: 0 }))).rejects.toThrow(/disk on fire/);
  });

  it('keeps to the reader on a zstd bomb: a few KiB of input never become GiBs of buffers at once', async () => {
    const zero = Buffer.alloc(1 << 20);
    async function* zeros(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 1024; i++) yield zero;
    }
    const bomb = await all(zstdCompress(zeros())); // 1 GiB of zeros in a few tens of KiB
    expect(bomb.length).toBeLessThan(1 << 20);
    for (const workerMin of [0, Number.MAX_SAFE_INTEGER]) {
      const rss0 = process.memoryUsage().rss;
      let peak = 0;
      let total = 0;
      for await (const c of decompress(Readable.from([bomb]), { workerMin })) {
        total += c.length;
        peak = Math.max(peak, process.memoryUsage().rss - rss0);
      }
      expect(total).toBe(1 << 30);
      // the library's own stream expanded the whole input chunk in one go (rss + 1 GiB)
      expect(peak, workerMin === 0 ? 'in the worker' : 'in this thread').toBeLessThan(256 << 20);
    }
  }, 120_000);

  it('zstd: any input chunking, with a slow reader, gives the same bytes in both paths', async () => {
    const small = data.subarray(0, 3 << 20);
    const zst = await all(zstdCompress(chunks(small)));
    for (const size of [1, 7, 4096, 65536, 1 << 20]) {
      for (const workerMin of [Number.MAX_SAFE_INTEGER, 0]) {
        const src = size === 1 ? chunks(zst.subarray(0, 20_000), 1) : chunks(zst, size);
        const want = size === 1 ? undefined : sha(small);
        const out: Buffer[] = [];
        try {
          for await (const c of decompress(src, { workerMin })) {
            out.push(Buffer.from(c));
            if (out.length % 3 === 0) await new Promise((r) => setImmediate(r));
          }
          if (want) expect(sha(Buffer.concat(out)), `chunks of ${size}, workerMin ${workerMin}`).toBe(want);
        } catch (e) {
          // a 20,000-byte prefix ends inside a frame: that error, after a prefix of the data
          expect(size).toBe(1);
          expect(String(e)).toMatch(/corrupt zstd stream: Stream ended in middle of compressed data frame/);
          expect(small.subarray(0, Buffer.concat(out).length).equals(Buffer.concat(out))).toBe(true);
        }
      }
    }
  }, 120_000);

  it('stops the worker and closes the source when the consumer stops early', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'sc-gz-')), 'x.gz');
    writeFileSync(f, await all(gzipParallel(chunks(data))));
    const src = createReadStream(f, { highWaterMark: 1 << 16 });
    let n = 0;
    for await (const c of decompress(src, { workerMin: 0 })) {
      n += c.length;
      break;
    }
    expect(n).toBeGreaterThan(0);
    for (let i = 0; i < 50 && !src.destroyed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(src.destroyed).toBe(true);
    expect(sha(await all(decompress(createReadStream(f), { workerMin: 0 })))).toBe(sha(data));
  });
});
