/** The tar codec: property-based round trips (names, ids, sizes, xattrs) and garbage never crashes it. */
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeHeader, padLen, readTar, TAR_END, TarContentSize, type TarHeader } from '../tar.js';

const nameArb = fc
  .array(fc.stringMatching(/^[^/\0]{1,40}$/).filter((s) => s !== '.' && s !== '..'), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.join('/'));

const entryArb = fc.record({
  name: nameArb,
  type: fc.constantFrom<'file' | 'dir' | 'symlink' | 'link'>('file', 'dir', 'symlink', 'link'),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  gid: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  mtime: fc.integer({ min: 0, max: 2 ** 33 }),
  data: fc.uint8Array({ maxLength: 1500 }),
  linkname: nameArb,
  xattrs: fc.array(fc.tuple(fc.constantFrom('user.a', 'security.capability', 'trusted.x'), fc.uint8Array({ maxLength: 40 })), { maxLength: 2 }),
});

describe('tar codec', () => {
  it('round-trips arbitrary entries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 1, maxLength: 6 }), async (entries) => {
        const parts: Buffer[] = [];
        const want: TarHeader[] = [];
        for (const e of entries) {
          const data = e.type === 'file' ? Buffer.from(e.data) : Buffer.alloc(0);
          const h: TarHeader = {
            name: e.type === 'dir' ? `${e.name}/` : e.name,
            type: e.type,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            mtime: e.mtime,
            size: data.length,
            linkname: e.type === 'symlink' || e.type === 'link' ? e.linkname : undefined,
            xattrs: e.xattrs.length ? new Map(e.xattrs.map(([k, v]) => [k, Buffer.from(v)])) : undefined,
          };
          want.push(h);
          parts.push(encodeHeader(h), data, Buffer.alloc(padLen(data.length)));
        }
        parts.push(TAR_END);
        const tar = Buffer.concat(parts);
        let i = 0;
        for await (const got of readTar(Readable.from([tar]))) {
          const w = want[i++] as TarHeader;
          const chunks: Buffer[] = [];
          for await (const c of got.body) chunks.push(c);
          expect(got.name).toBe(w.name);
          expect(got.type).toBe(w.type);
          expect([got.mode, got.uid, got.gid, got.mtime, got.size]).toEqual([w.mode, w.uid, w.gid, w.mtime, w.size]);
          expect(got.linkname).toBe(w.linkname);
          expect(Buffer.concat(chunks).length).toBe(w.size);
          const norm = (m?: Map<string, Buffer>): string[] => (m ? [...m].map(([k, v]) => `${k}=${v.toString('hex')}`).sort() : []);
          expect(norm(got.xattrs)).toEqual(norm(w.xattrs));
        }
        expect(i).toBe(want.length);
        const c = new TarContentSize();
        c.push(tar);
        const expected = want.reduce((a, w) => a + (w.type === 'file' ? w.size : w.type === 'symlink' ? Buffer.byteLength(w.linkname ?? '') : 0), 0);
        expect(c.total).toBe(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('never hangs or crashes on garbage: it parses or throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.integer({ min: 0, max: 2 }), async (bytes, where) => {
        // garbage alone, or garbage spliced into a valid archive
        const valid = Buffer.concat([encodeHeader({ name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, mtime: 0 }), Buffer.from('abc'), Buffer.alloc(509), TAR_END]);
        const input = where === 0 ? Buffer.from(bytes) : where === 1 ? Buffer.concat([valid.subarray(0, 512), Buffer.from(bytes)]) : Buffer.concat([valid.subarray(0, 1024), Buffer.from(bytes)]);
        try {
          for await (const e of readTar(Readable.from([input]))) for await (const _ of e.body) void _;
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
        }
      }),
      { numRuns: 300 },
    );
  });
});
