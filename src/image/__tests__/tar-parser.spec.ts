/**
 * TarParser, the push reader under readTar and the extractor: the same entries and bytes whatever
 * the chunking (headers, PAX / GNU long-name bodies and data straddling chunk boundaries), strict
 * about truncation, and blind to anything after the end-of-archive marker.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeHeader, padLen, TAR_END, TarFormatError, TarParser, type TarHeader } from '../tar.js';

function rawHeader(name: string, flag: string, size: number): Buffer {
  const h = encodeHeader({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 });
  h.write(flag, 156, 'ascii');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

function withBody(h: Buffer, body: Buffer): Buffer[] {
  return [h, body, Buffer.alloc(padLen(body.length))];
}

/** an archive with every framing case: PAX, global PAX, GNU long names, data of all sizes */
function sampleArchive(): { tar: Buffer; files: Map<string, Buffer> } {
  const files = new Map<string, Buffer>();
  const parts: Buffer[] = [];
  const file = (name: string, data: Buffer, extra: Partial<TarHeader> = {}): void => {
    files.set(name, data);
    parts.push(...withBody(encodeHeader({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 1, ...extra }), data));
  };
  const gpax = Buffer.from('22 comment=global one\n');
  parts.push(...withBody(rawHeader('pax_global_header', 'g', gpax.length), gpax));
  parts.push(encodeHeader({ name: 'd/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1 }));
  for (const n of [0, 1, 511, 512, 513, 1500, 9000]) file(`d/f${n}`, Buffer.alloc(n, n % 251));
  file(`d/${'long'.repeat(40)}`, Buffer.from('pax path'), { uid: 3_000_000, xattrs: new Map([['security.capability', Buffer.from([1, 0, 0, 2, 0xff])]]) });
  const longName = Buffer.from(`d/${'gnu'.repeat(50)}\0`);
  parts.push(...withBody(rawHeader('././@LongLink', 'L', longName.length), longName));
  file('d/short-name-replaced', Buffer.from('gnu long name'));
  files.delete('d/short-name-replaced');
  files.set(`d/${'gnu'.repeat(50)}`, Buffer.from('gnu long name'));
  parts.push(encodeHeader({ name: 'd/sym', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 1, linkname: `${'t'.repeat(120)}` }));
  // a hard link that carries data (some writers do): the data is skipped, not reported
  const linkData = Buffer.alloc(700, 9);
  const link = encodeHeader({ name: 'd/hl', type: 'link', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1, linkname: 'd/f1' });
  link.write('00000001274\0', 124, 'ascii'); // size 700
  link.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of link) sum += b;
  link.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  parts.push(...withBody(link, linkData));
  file('d/last', Buffer.from('end'));
  parts.push(TAR_END);
  return { tar: Buffer.concat(parts), files };
}

interface Seen {
  headers: TarHeader[];
  data: Map<string, Buffer>;
  ends: number;
  ended: boolean;
}

function parse(tar: Buffer, cuts: number[]): Seen {
  const seen: Seen = { headers: [], data: new Map(), ends: 0, ended: false };
  let cur: Buffer[] | undefined;
  const p = new TarParser({
    entry: (h) => {
      seen.headers.push(h);
      cur = h.type === 'file' ? [] : undefined;
      if (cur) seen.data.set(h.name, Buffer.alloc(0));
    },
    data: (b) => {
      if (!cur) throw new Error('data for an entry without data');
      cur.push(Buffer.from(b));
    },
    entryEnd: () => {
      const h = seen.headers[seen.headers.length - 1] as TarHeader;
      if (cur) seen.data.set(h.name, Buffer.concat(cur));
      seen.ends++;
    },
  });
  let off = 0;
  for (const c of [...cuts.filter((x) => x > 0 && x < tar.length).sort((a, b) => a - b), tar.length]) {
    p.push(tar.subarray(off, c));
    off = c;
  }
  p.end();
  seen.ended = p.ended;
  return seen;
}

/** one comparable string for a parse: headers, data digests, counts */
function summary(s: Seen): string {
  const headers = s.headers.map((h) => ({ ...h, xattrs: h.xattrs && [...h.xattrs].map(([k, v]) => `${k}=${v.toString('hex')}`) }));
  const data = [...s.data].map(([k, v]) => `${k}:${createHash('sha256').update(v).digest('hex')}`);
  return JSON.stringify({ headers, data, ends: s.ends, ended: s.ended });
}

describe('TarParser', () => {
  const { tar, files } = sampleArchive();
  const whole = parse(tar, []);
  const wholeSummary = summary(whole);

  it('reports every entry, its data, and the framing of PAX / GNU headers', () => {
    expect(whole.ended).toBe(true);
    expect(whole.ends).toBe(whole.headers.length);
    expect(whole.headers.map((h) => h.name)).toEqual(['d/', ...[...files.keys()].slice(0, -1), 'd/sym', 'd/hl', 'd/last']);
    for (const [name, data] of files) expect(whole.data.get(name)?.equals(data)).toBe(true);
    const pax = whole.headers.find((h) => h.name.startsWith('d/long')) as TarHeader;
    expect(pax.uid).toBe(3_000_000);
    expect(pax.xattrs?.get('security.capability')?.equals(Buffer.from([1, 0, 0, 2, 0xff]))).toBe(true);
    expect(whole.headers.find((h) => h.name === 'd/sym')?.linkname).toBe('t'.repeat(120));
    expect(whole.headers.find((h) => h.name === 'd/hl')).toMatchObject({ type: 'link', size: 0, linkname: 'd/f1' });
  });

  it('gives the same result for any chunking', () => {
    for (const step of [1, 7, 511, 512, 513, 4096]) {
      const cuts: number[] = [];
      for (let i = step; i < tar.length; i += step) cuts.push(i);
      expect(summary(parse(tar, cuts))).toBe(wholeSummary);
    }
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: tar.length - 1 }), { maxLength: 40 }), (cuts) => {
        expect(summary(parse(tar, cuts))).toBe(wholeSummary);
      }),
      { numRuns: 200 },
    );
  });

  it('throws on truncation inside an entry, tolerates a missing end marker', () => {
    const endOfEntries = tar.length - TAR_END.length;
    expect(parse(tar.subarray(0, endOfEntries), []).headers.length).toBe(whole.headers.length);
    for (let n = 1; n < endOfEntries; n += 97) {
      const cut = tar.subarray(0, n);
      if (n % 512 === 0) continue; // a block boundary may be the end of an entry
      expect(() => parse(cut, [n >> 1])).toThrow(TarFormatError);
    }
  });

  it('ignores whatever follows the end-of-archive marker', () => {
    const trailing = Buffer.concat([tar, Buffer.from('garbage after the end '.repeat(100))]);
    expect(summary(parse(trailing, [tar.length - 3, tar.length + 5]))).toBe(wholeSummary);
  });
});
