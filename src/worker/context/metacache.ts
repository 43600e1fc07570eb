/**
 * The build context's metadata cache, as BuildKit's contenthash cache: for each file of a context
 * directory, the (inode, size, mtime, ctime) it had when its content was hashed, and that sha256.
 * In: the cache file (one per context directory, in the store) and lstat results. Out: the content
 * digest of a file whose metadata is unchanged, so a rebuild reads only files that changed.
 *
 * Correctness: a write changes ctime (which no user call can set back), so a file rewritten with
 * the same size and its mtime restored is still noticed. A file changed within the kernel's
 * timestamp tick after it was hashed could keep its ctime ("racily clean", as git calls it): an
 * entry is saved only when its ctime is more than RACY_MS before the cache was opened, so such a file
 * is hashed again next time. Concurrent builds: the file is read once and replaced atomically (temp
 * file + rename); every entry validates itself against lstat, so whichever build writes last leaves
 * a correct cache.
 *
 * File format: records of six NUL-terminated fields (path relative to the context, ino, size, mtime
 * ms, ctime ms, hex digest) after a version line.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';

const VERSION = 'stagecraft-context-meta-v1\n';
/** entries whose ctime is this close to the cache's opening are not saved (see module comment) */
export const RACY_MS = 1000;
const MAX_ENTRIES = 1_000_000;

interface Entry {
  ino: string;
  size: string;
  mtime: string;
  ctime: string;
  hex: string;
}

export class ContextMetaCache {
  private readonly entries = new Map<string, Entry>();
  private readonly opened = Date.now();
  private dirty = false;
  /** digests taken from the cache / computed, since open (for benchmarks and specs) */
  hits = 0;
  misses = 0;

  private constructor(
    readonly file: string | undefined,
    readonly root: string,
  ) {}

  /** Reads the cache of context `root` from `file` (missing or unreadable: empty). No file: in memory only. */
  static open(root: string, file?: string): ContextMetaCache {
    const c = new ContextMetaCache(file, root);
    if (!file) return c;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return c;
    }
    if (!text.startsWith(VERSION)) return c;
    const f = text.slice(VERSION.length).split('\0');
    for (let i = 0; i + 6 <= f.length; i += 6) {
      c.entries.set(f[i] as string, { ino: f[i + 1] as string, size: f[i + 2] as string, mtime: f[i + 3] as string, ctime: f[i + 4] as string, hex: f[i + 5] as string });
    }
    return c;
  }

  private rel(host: string): string | undefined {
    if (host === this.root) return '';
    return host.startsWith(`${this.root}/`) ? host.slice(this.root.length + 1) : undefined;
  }

  /** The recorded digest of `host` when its metadata `st` is what it was when hashed. */
  lookup(host: string, st: Stats): string | undefined {
    const r = this.rel(host);
    const e = r === undefined ? undefined : this.entries.get(r);
    if (e && e.ino === String(st.ino) && e.size === String(st.size) && e.mtime === String(st.mtimeMs) && e.ctime === String(st.ctimeMs)) {
      this.hits++;
      return e.hex;
    }
    this.misses++;
    return undefined;
  }

  record(host: string, st: Stats, hex: string): void {
    const r = this.rel(host);
    if (r === undefined) return;
    if (st.ctimeMs >= this.opened - RACY_MS) {
      this.entries.delete(r); // racily clean: hash it again next time
      return;
    }
    this.entries.set(r, { ino: String(st.ino), size: String(st.size), mtime: String(st.mtimeMs), ctime: String(st.ctimeMs), hex });
    this.dirty = true;
  }

  /** Writes the cache back if anything was recorded (atomically; errors are ignored: it is a cache). */
  save(): void {
    if (!this.file || !this.dirty) return;
    const parts: string[] = [VERSION];
    let n = 0;
    for (const [k, e] of this.entries) {
      if (++n > MAX_ENTRIES) break;
      parts.push(k, '\0', e.ino, '\0', e.size, '\0', e.mtime, '\0', e.ctime, '\0', e.hex, '\0');
    }
    const tmp = join(dirname(this.file), `.w-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(tmp, parts.join(''));
      renameSync(tmp, this.file);
      this.dirty = false;
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        /* never written */
      }
    }
  }
}
