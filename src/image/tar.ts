/**
 * A small, strict tar codec for image layers (ustar + PAX + the GNU long-name extensions on read).
 *
 * - `encodeHeader(entry)` turns one entry's metadata into header bytes (a PAX 'x' header first when a
 *   name/link is longer than ustar allows, a number does not fit, or there are xattrs). PAX records
 *   are written in sorted key order so equal input gives equal bytes. Binary xattr values are kept
 *   byte-exact (SCHILY.xattr.NAME=<raw bytes>), like Go's archive/tar.
 * - `TarParser` is the reader: chunks pushed in, entries out through synchronous callbacks, file data
 *   as views of the pushed chunks (what the extractor uses). `readTar(chunks)` puts a pull interface
 *   on it: it yields one `TarEntry` at a time whose `body` must be consumed (or is skipped
 *   automatically) before the next entry. xattr values come back as Buffers.
 *
 * Why not tar-stream: its PAX reader decodes values as UTF-8, which corrupts binary xattrs such as
 * `security.capability`, and we need byte-for-byte control of what we write for reproducible layers.
 */

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number; // seconds
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
}

export interface TarEntry extends TarHeader {
  /** the entry's data (only files have any); read it fully or let the reader skip it */
  body: AsyncIterable<Buffer>;
}

const TYPEFLAG: Record<TarType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
const BLOCK = 512;
/** PAX / GNU long-name bodies are buffered: refuse absurd sizes from untrusted input */
const MAX_META = 1 << 20;

function writeString(buf: Buffer, s: string | Buffer, off: number, len: number): boolean {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  if (b.length > len) return false;
  b.copy(buf, off);
  return true;
}

/** octal, NUL-terminated, zero-padded; false when it does not fit */
function writeOctal(buf: Buffer, n: number, off: number, len: number): boolean {
  const s = Math.max(0, Math.floor(n)).toString(8);
  if (s.length > len - 1) {
    buf.write('0'.repeat(len - 1), off, 'ascii');
    return false;
  }
  buf.write(s.padStart(len - 1, '0'), off, 'ascii');
  buf[off + len - 1] = 0;
  return true;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const kv = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = kv.length + 1;
  while (String(len).length + kv.length !== len) len = String(len).length + kv.length;
  return Buffer.concat([Buffer.from(String(len)), kv]);
}

function ustarBlock(h: TarHeader, typeflag: string, name: string, linkname: string, size: number, pax: Map<string, Buffer>): Buffer {
  const b = Buffer.alloc(BLOCK);
  if (!writeString(b, name, 0, 100)) {
    pax.set('path', Buffer.from(name));
    writeString(b, Buffer.from(name).subarray(0, 100), 0, 100);
  }
  writeOctal(b, h.mode & 0o7777, 100, 8);
  if (!writeOctal(b, h.uid, 108, 8)) pax.set('uid', Buffer.from(String(h.uid)));
  if (!writeOctal(b, h.gid, 116, 8)) pax.set('gid', Buffer.from(String(h.gid)));
  if (!writeOctal(b, size, 124, 12)) pax.set('size', Buffer.from(String(size)));
  if (!writeOctal(b, h.mtime, 136, 12)) pax.set('mtime', Buffer.from(String(Math.floor(h.mtime))));
  b.write(typeflag, 156, 'ascii');
  if (linkname && !writeString(b, linkname, 157, 100)) {
    pax.set('linkpath', Buffer.from(linkname));
    writeString(b, Buffer.from(linkname).subarray(0, 100), 157, 100);
  }
  b.write('ustar\x0000', 257, 'binary');
  if (h.uname && !writeString(b, h.uname, 265, 32)) pax.set('uname', Buffer.from(h.uname));
  if (h.gname && !writeString(b, h.gname, 297, 32)) pax.set('gname', Buffer.from(h.gname));
  if (h.type === 'char' || h.type === 'block') {
    writeOctal(b, h.devmajor ?? 0, 329, 8);
    writeOctal(b, h.devminor ?? 0, 337, 8);
  } else {
    writeOctal(b, 0, 329, 8);
    writeOctal(b, 0, 337, 8);
  }
  return b;
}

function checksum(b: Buffer): void {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i] as number;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
}

/** Header bytes for one entry (PAX extended header first when needed). Data and padding follow. */
export function encodeHeader(h: TarHeader): Buffer {
  const size = h.type === 'file' ? h.size : 0;
  const pax = new Map<string, Buffer>();
  const main = ustarBlock(h, TYPEFLAG[h.type], h.name, h.linkname ?? '', size, pax);
  if (h.xattrs) for (const [k, v] of h.xattrs) pax.set(`SCHILY.xattr.${k}`, v);
  checksum(main);
  if (pax.size === 0) return main;
  const keys = [...pax.keys()].sort();
  const body = Buffer.concat(keys.map((k) => paxRecord(k, pax.get(k) as Buffer)));
  const base = h.name.replace(/\/$/, '').split('/').pop() ?? '';
  const paxName = `PaxHeaders.0/${base}`.slice(0, 99);
  const ph = ustarBlock({ name: paxName, type: 'file', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0 }, 'x', paxName, '', body.length, new Map());
  checksum(ph);
  return Buffer.concat([ph, body, Buffer.alloc(padLen(body.length)), main]);
}

export function padLen(n: number): number {
  return (BLOCK - (n % BLOCK)) % BLOCK;
}

/** The two zero blocks that end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2);

// ---------------------------------------------------------------------------------------------
// reading

export class TarFormatError extends Error {}

function cstr(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z < 0 ? s : s.subarray(0, z)).toString('utf8');
}

/** 0-7 digits, cut at the first NUL, spaces around allowed (as GNU tar writes them); or GNU base-256 */
function parseNum(b: Buffer, off: number, len: number): number {
  const first = b[off] as number;
  if (first & 0x80) {
    // base-256 (GNU): big-endian two's complement, first byte's high bit is the marker
    if (first & 0x40) throw new TarFormatError('negative number in tar header');
    let n = first & 0x3f;
    for (let i = off + 1; i < off + len; i++) n = n * 256 + (b[i] as number);
    return n;
  }
  let end = b.indexOf(0, off);
  if (end < 0 || end > off + len) end = off + len;
  let i = off;
  while (i < end && isSpace(b[i] as number)) i++;
  while (end > i && isSpace(b[end - 1] as number)) end--;
  let n = 0;
  for (let k = i; k < end; k++) {
    const c = b[k] as number;
    if (c < 0x30 || c > 0x37) throw new TarFormatError(`invalid number in tar header: ${JSON.stringify(b.toString('latin1', i, end))}`);
    n = n * 8 + (c - 0x30);
  }
  return n;
}

const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

function parsePax(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(body.subarray(i, sp).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0 || i + len > body.length) throw new TarFormatError('invalid PAX header');
    const rec = body.subarray(sp + 1, i + len - 1); // drop trailing \n
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError('invalid PAX record');
    out.set(rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1)));
    i += len;
  }
  return out;
}

const TYPES: Record<string, TarType> = { '0': 'file', '\0': 'file', '7': 'file', '': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };
const NO_PAX: ReadonlyMap<string, Buffer> = new Map();

/** What TarParser reports, in archive order. */
export interface TarHandler {
  /** one entry's metadata; a file's data follows through data(), then entryEnd() */
  entry(h: TarHeader): void;
  /** the next piece of the current file's data: a view into the pushed chunk (copy it to keep it) */
  data(b: Buffer): void;
  /** the current entry is complete */
  entryEnd(): void;
}

/**
 * The tar reader: push chunks of any size, get the entries through synchronous callbacks. Headers
 * are parsed in place (copied only when one straddles two chunks) and file data is passed on as
 * views of the pushed chunks, so a 1 MiB chunk of small files costs no allocation beyond the
 * header objects. `end()` reports a truncated archive; a missing end-of-archive marker is tolerated,
 * and whatever follows the marker is ignored.
 */
export class TarParser {
  private state: 'header' | 'meta' | 'data' | 'skip' | 'done' = 'header';
  /** a header block or metadata body that straddles chunks */
  private part: Buffer[] = [];
  private partLen = 0;
  /** bytes left in the current metadata body / file data / skipped section */
  private left = 0;
  /** padding to skip after the current file's data or metadata body */
  private pad = 0;
  private metaFlag = '';
  private globalPax: ReadonlyMap<string, Buffer> = NO_PAX;
  private pax: ReadonlyMap<string, Buffer> = NO_PAX;
  private longName: string | undefined;
  private longLink: string | undefined;
  private sawAny = false;

  constructor(private readonly h: TarHandler) {}

  /** true once the end-of-archive marker has been read */
  get ended(): boolean {
    return this.state === 'done';
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      switch (this.state) {
        case 'done':
          return;
        case 'skip': {
          const k = Math.min(this.left, n - off);
          off += k;
          this.left -= k;
          if (this.left === 0) this.state = 'header';
          break;
        }
        case 'data': {
          const k = Math.min(this.left, n - off);
          this.h.data(chunk.subarray(off, off + k));
          off += k;
          this.left -= k;
          if (this.left === 0) {
            this.h.entryEnd();
            this.skip(this.pad);
          }
          break;
        }
        case 'header': {
          if (this.partLen === 0 && n - off >= BLOCK) {
            off += BLOCK;
            this.header(chunk.subarray(off - BLOCK, off));
            break;
          }
          const k = Math.min(BLOCK - this.partLen, n - off);
          this.collect(chunk.subarray(off, off + k));
          off += k;
          if (this.partLen === BLOCK) this.header(this.collected());
          break;
        }
        case 'meta': {
          const k = Math.min(this.left, n - off);
          this.collect(chunk.subarray(off, off + k));
          off += k;
          this.left -= k;
          if (this.left === 0) this.meta(this.collected());
          break;
        }
      }
    }
  }

  /** the input has ended: throws when it ended inside an entry */
  end(): void {
    if (this.state === 'done' || (this.state === 'header' && this.partLen === 0)) return;
    throw new TarFormatError('unexpected end of tar archive');
  }

  private collect(b: Buffer): void {
    this.part.push(b);
    this.partLen += b.length;
  }

  private collected(): Buffer {
    const b = this.part.length === 1 ? (this.part[0] as Buffer) : Buffer.concat(this.part, this.partLen);
    this.part = [];
    this.partLen = 0;
    return b;
  }

  private skip(n: number): void {
    this.left = n;
    this.state = n > 0 ? 'skip' : 'header';
  }

  private meta(body: Buffer): void {
    const f = this.metaFlag;
    if (f === 'x') this.pax = parsePax(body);
    else if (f === 'g') this.globalPax = new Map([...this.globalPax, ...parsePax(body)]);
    else if (f === 'L') this.longName = cstr(body, 0, body.length);
    else this.longLink = cstr(body, 0, body.length);
    this.skip(this.pad);
  }

  private header(hb: Buffer): void {
    // an all-zero block ends the archive (any real header has a non-zero checksum field)
    if (hb.readUInt32LE(148) === 0 && hb.readUInt32LE(152) === 0 && hb.every((x) => x === 0)) {
      this.state = 'done';
      return;
    }
    // verify the checksum (signed or unsigned sum, as GNU tar accepts); the checksum field counts as spaces
    const stored = parseNum(hb, 148, 8);
    let u = 8 * 0x20;
    let high = 0;
    for (let i = 0; i < BLOCK; i++) {
      if (i === 148) i = 156;
      const v = hb[i] as number;
      u += v;
      if (v > 127) high++;
    }
    const s = u - 256 * high;
    if (stored !== u && stored !== s) throw new TarFormatError(this.sawAny ? 'corrupt tar header (bad checksum)' : 'not a tar archive');
    this.sawAny = true;
    const flag = String.fromCharCode(hb[156] as number);
    let size = parseNum(hb, 124, 12);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw new TarFormatError(`tar metadata entry of ${size} bytes (limit ${MAX_META})`);
      this.metaFlag = flag;
      this.pad = padLen(size);
      this.left = size;
      if (size === 0) this.meta(Buffer.alloc(0));
      else this.state = 'meta';
      return;
    }
    const type = TYPES[flag];
    if (!type) throw new TarFormatError(`unsupported tar entry type '${flag}'`);
    const p = this.globalPax.size === 0 ? this.pax : this.pax.size === 0 ? this.globalPax : new Map([...this.globalPax, ...this.pax]);
    let name = cstr(hb, 0, 100);
    if (hb.toString('binary', 257, 263) === 'ustar\0') {
      const prefix = cstr(hb, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (this.longName !== undefined) name = this.longName;
    let linkname = cstr(hb, 157, 100);
    if (this.longLink !== undefined) linkname = this.longLink;
    let uid = parseNum(hb, 108, 8);
    let gid = parseNum(hb, 116, 8);
    let mtime = parseNum(hb, 136, 12);
    let xattrs: Map<string, Buffer> | undefined;
    let uname: string | undefined;
    let gname: string | undefined;
    if (p.size > 0) {
      const num = (k: string, v: number): number => {
        const x = p.get(k);
        if (!x) return v;
        const n = Number(x.toString('ascii'));
        if (!Number.isFinite(n) || n < 0) throw new TarFormatError(`invalid PAX ${k}`);
        return n;
      };
      if (p.has('path')) name = (p.get('path') as Buffer).toString('utf8');
      if (p.has('linkpath')) linkname = (p.get('linkpath') as Buffer).toString('utf8');
      size = num('size', size);
      uid = num('uid', uid);
      gid = num('gid', gid);
      mtime = num('mtime', mtime);
      uname = p.get('uname')?.toString();
      gname = p.get('gname')?.toString();
      for (const [k, v] of p) {
        if (k.startsWith('SCHILY.xattr.')) (xattrs ??= new Map()).set(k.slice(13), v);
      }
    }
    this.pax = NO_PAX;
    this.longName = undefined;
    this.longLink = undefined;
    this.h.entry({
      name,
      type,
      mode: parseNum(hb, 100, 8) & 0o7777,
      uid,
      gid,
      size: type === 'file' ? size : 0,
      mtime: Math.floor(mtime),
      linkname: linkname || undefined,
      uname: uname ?? cstr(hb, 265, 32),
      gname: gname ?? cstr(hb, 297, 32),
      devmajor: parseNum(hb, 329, 8),
      devminor: parseNum(hb, 337, 8),
      xattrs,
    });
    // only regular files carry data (hard links may too in some writers: skipped)
    if (type === 'file' && size > 0) {
      this.left = size;
      this.pad = padLen(size);
      this.state = 'data';
      return;
    }
    this.h.entryEnd();
    this.skip(size + padLen(size));
  }
}

/**
 * Streams the entries of an (uncompressed) tar archive: TarParser driven by the pull of the
 * consumer. Each entry's `body` must be read before the next entry, or it is skipped.
 */
export async function* readTar(src: AsyncIterable<Buffer | string>): AsyncGenerator<TarEntry> {
  // parser events: a header, a piece of file data, or null for the end of an entry
  let q: (TarHeader | Buffer | null)[] = [];
  let qi = 0;
  const parser = new TarParser({ entry: (h) => q.push(h), data: (b) => q.push(b), entryEnd: () => q.push(null) });
  const it = src[Symbol.asyncIterator]();
  let eof = false;
  /** the next event, pulling input as needed; undefined at the end of the input */
  const next = async (): Promise<TarHeader | Buffer | null | undefined> => {
    while (qi >= q.length) {
      q = [];
      qi = 0;
      if (eof) return undefined;
      const r = await it.next();
      if (r.done) {
        eof = true;
        parser.end();
      } else parser.push(typeof r.value === 'string' ? Buffer.from(r.value) : r.value);
    }
    return q[qi++];
  };
  /** events up to the end of the current entry; undefined means truncation */
  const rest = async (): Promise<Buffer | null> => {
    const ev = await next();
    if (ev === undefined) throw new TarFormatError('unexpected end of tar archive');
    return ev as Buffer | null;
  };
  for (;;) {
    const h = await next();
    if (h === undefined) return;
    if (h === null || Buffer.isBuffer(h)) continue; // cannot happen: every entry starts with its header
    let done = false;
    let consumed = false;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: async function* () {
        if (consumed) throw new Error('tar entry body already consumed');
        consumed = true;
        for (let ev = await rest(); ev !== null; ev = await rest()) yield ev;
        done = true;
      },
    };
    yield { ...h, body };
    while (!done) done = (await rest()) === null;
  }
}

/**
 * Docker's layer size, computed while a tar stream passes by: the sum of the sizes of non-directory
 * entries, each inode once (hard links add nothing), where a symlink's size is the length of its
 * target — what moby's directory.Size reports for an unpacked layer, i.e. `docker images` SIZE.
 */
export class TarContentSize {
  total = 0;
  private state: 'header' | 'skip' | 'body' | 'done' = 'header';
  private hdr: Buffer[] = [];
  private hdrLen = 0;
  private skipLeft = 0;
  private bodyLeft = 0;
  private body: Buffer[] = [];
  private bodyKind: 'x' | 'K' = 'x';
  private paxSize?: number;
  private paxLink?: number;
  private longLinkLen?: number;

  push(chunk: Buffer): void {
    let c = chunk;
    while (c.length > 0 && this.state !== 'done') {
      if (this.state === 'skip') {
        const n = Math.min(this.skipLeft, c.length);
        this.skipLeft -= n;
        c = c.subarray(n);
        if (this.skipLeft === 0) this.state = 'header';
        continue;
      }
      if (this.state === 'body') {
        const n = Math.min(this.bodyLeft, c.length);
        this.body.push(c.subarray(0, n));
        this.bodyLeft -= n;
        c = c.subarray(n);
        if (this.bodyLeft === 0) this.endBody();
        continue;
      }
      const n = Math.min(BLOCK - this.hdrLen, c.length);
      this.hdr.push(c.subarray(0, n));
      this.hdrLen += n;
      c = c.subarray(n);
      if (this.hdrLen === BLOCK) {
        const h = Buffer.concat(this.hdr);
        this.hdr = [];
        this.hdrLen = 0;
        this.header(h);
      }
    }
  }

  private header(h: Buffer): void {
    if (h.every((x) => x === 0)) {
      this.state = 'done';
      return;
    }
    let size: number;
    try {
      size = parseNum(h, 124, 12);
    } catch {
      this.state = 'done';
      return;
    }
    const flag = String.fromCharCode(h[156] as number);
    if ((flag === 'x' || flag === 'K') && size <= MAX_META) {
      this.bodyKind = flag;
      this.body = [];
      this.bodyLeft = size;
      this.skipAfterBody = padLen(size);
      this.state = size > 0 ? 'body' : 'header';
      return;
    }
    if (flag === 'g' || flag === 'L') {
      this.skipTo(size + padLen(size));
      return;
    }
    if (this.paxSize !== undefined) size = this.paxSize;
    if (flag === '0' || flag === '\0' || flag === '7') this.total += size;
    else if (flag === '2') {
      const linkLen = this.paxLink ?? this.longLinkLen ?? cstrLen(h, 157, 100);
      this.total += linkLen;
    }
    this.paxSize = undefined;
    this.paxLink = undefined;
    this.longLinkLen = undefined;
    const data = flag === '0' || flag === '\0' || flag === '7' || flag === '1' ? size : flag === '5' || flag === '2' || flag === '3' || flag === '4' || flag === '6' ? 0 : size;
    this.skipTo(data + padLen(data));
  }

  private skipAfterBody = 0;

  private endBody(): void {
    const b = Buffer.concat(this.body);
    this.body = [];
    if (this.bodyKind === 'K') {
      const z = b.indexOf(0);
      this.longLinkLen = z < 0 ? b.length : z;
    } else {
      try {
        const p = parsePax(b);
        const s = p.get('size');
        if (s) this.paxSize = Number(s.toString('ascii'));
        const l = p.get('linkpath');
        if (l) this.paxLink = l.length;
      } catch {
        /* the real reader reports malformed PAX */
      }
    }
    this.skipTo(this.skipAfterBody);
  }

  private skipTo(n: number): void {
    this.skipLeft = n;
    this.state = n > 0 ? 'skip' : 'header';
  }
}

function cstrLen(b: Buffer, off: number, len: number): number {
  const z = b.subarray(off, off + len).indexOf(0);
  return z < 0 ? len : z;
}
