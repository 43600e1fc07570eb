/**
 * The build context: a directory plus the Dockerfile and the .dockerignore that go with it, and the
 * content hash that COPY/ADD cache keys are made of.
 *
 * In: a context dir and the `-f` value (a path, relative to `cwd`, possibly outside the context; or
 * `-` with the text passed in `stdin`). Out: a `BuildContext` { dir, dockerfile {text, path, name},
 * ignore matcher, ignoreFile }.
 *
 * - Dockerfile: `-f` is relative to the caller's cwd (docker CLI / buildx); without `-f`,
 *   `<context>/Dockerfile`, falling back to `<context>/dockerfile` like BuildKit's dockerui.
 * - .dockerignore: BuildKit reads `<Dockerfile name>.dockerignore` next to the Dockerfile first (also
 *   for a Dockerfile outside the context), else `<context>/.dockerignore`; `-f -` has no
 *   Dockerfile-specific file. Lines are read like Docker's ignorefile.ReadAll (BOM, trim, `#`
 *   comments, `!` exclusions, path cleaning, leading `/` dropped) and matched with Docker's
 *   semantics (@balena/dockerignore): a pattern matching a directory excludes everything in it.
 *   Ignored paths simply do not exist for COPY/ADD (BuildKit never sends them).
 *
 * `hashPaths(ctxOrRoot, sources, opts)` → `sha256:<hex>` over what a COPY of `sources` would read:
 * for each match and every entry below it (after .dockerignore / --exclude / --parents filtering):
 * relative path, type, permission+special mode bits, link target, regular-file content digest, and
 * uid/gid when ownership is kept (stage sources). Never mtimes or inode numbers. File digests are
 * cached in-process by (path, dev, ino, size, mtime, ctime), so an unchanged tree costs one lstat
 * per entry; with a metadata cache (`useMetaCache`, kept in the store) also across builds, so a
 * rebuild reads only the files that changed. A missing literal source throws BuildKit's "failed to compute cache key ... not found".
 * URL sources contribute only their text (their content is the caller's to key); a git source
 * contributes the commit its ref names (`git ls-remote`).
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { UserError } from '../../util/errors.js';
import { resolveInRoot } from '../../util/fspath.js';
import { readTextBounded } from '../../util/readfile.js';
import { ContextMetaCache } from './metacache.js';
import { decide, expandSources, hasWildcards, isGitUrl, isUrl, patternMatcher, resolveGitCommit, type PathMatcher, type SourceJob } from '../fileops/index.js';

export type { PathMatcher } from '../fileops/index.js';
export { ContextMetaCache, RACY_MS } from './metacache.js';

/** A directory a build reads files from: the main context or a named one (`--build-context NAME=DIR`). */
export interface ContextDir {
  /** absolute, symlink-free host path of the context directory */
  dir: string;
  /** .dockerignore matcher; paths relative to `dir`, slash-separated, no leading `/` */
  ignore: PathMatcher;
  /** host path of the ignore file used, if any */
  ignoreFile?: string;
  /** the ignore file's text, if any */
  ignoreText?: string;
  /** the metadata cache of file digests (see metacache.ts); set by `useMetaCache` */
  meta?: ContextMetaCache;
  /**
   * What `contextSize` saw (lstat per path, names per directory): the build's view of the context,
   * reused by `hashPaths` so a build walks the context once
   */
  seen?: { stats: Map<string, Stats>; names: Map<string, string[]> };
}

/** The main build context: a context directory with its Dockerfile. */
export interface BuildContext extends ContextDir {
  dockerfile: {
    text: string;
    /** host path of the Dockerfile; undefined when it came from stdin */
    path?: string;
    /** the name to show in messages: the -f value, `Dockerfile`, or `-` */
    name: string;
  };
}

export interface LoadContextOptions {
  /** the -f value: a path (relative to `cwd`) or `-` for stdin */
  dockerfile?: string;
  /** Dockerfile text when `dockerfile` is `-` */
  stdin?: string;
  /** explicit ignore-file text; replaces any .dockerignore lookup */
  ignore?: string;
  /** base for a relative -f (default process.cwd()) */
  cwd?: string;
}

/** Docker's ignorefile.ReadAll: the patterns of a .dockerignore text. */
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    let line = i === 0 ? raw.replace(/^\uFEFF/, '') : raw;
    line = line.trim();
    if (line === '' || line.startsWith('#')) return;
    const invert = line.startsWith('!');
    if (invert) line = line.slice(1).trim();
    if (line !== '') {
      line = goClean(line);
      if (line.length > 1 && line.startsWith('/')) line = line.slice(1);
    }
    out.push(invert ? `!${line}` : line);
  });
  return out;
}

/** Go's path.Clean for a relative or absolute pattern. */
function goClean(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = out.join('/');
  if (abs) return `/${s}`;
  return s === '' ? '.' : s;
}

function tryRead(p: string): string | undefined {
  try {
    return readTextBounded(p, '.dockerignore');
  } catch (e) {
    if (e instanceof UserError) throw e; // too large
    return undefined;
  }
}

/** Loads a build context: resolves the Dockerfile and the ignore rules. */
export async function loadContext(dir: string, opts: LoadContextOptions = {}): Promise<BuildContext> {
  const cwd = opts.cwd ?? process.cwd();
  const absDir = posix.resolve(cwd, dir);
  let real: string;
  try {
    real = realpathSync(absDir);
  } catch {
    throw new UserError(`unable to prepare context: path "${dir}" not found`);
  }
  if (!statSync(real).isDirectory()) throw new UserError(`unable to prepare context: context must be a directory: ${absDir}`);

  let dockerfile: BuildContext['dockerfile'];
  if (opts.dockerfile === '-') {
    if (opts.stdin === undefined) throw new UserError('-f -: no Dockerfile text was given on stdin');
    dockerfile = { text: opts.stdin, name: '-' };
  } else {
    let p: string;
    let name: string;
    if (opts.dockerfile !== undefined && opts.dockerfile !== '') {
      p = posix.resolve(cwd, opts.dockerfile);
      name = opts.dockerfile;
    } else {
      p = posix.join(real, 'Dockerfile');
      name = 'Dockerfile';
      if (tryStat(p) === undefined && tryStat(posix.join(real, 'dockerfile')) !== undefined) {
        p = posix.join(real, 'dockerfile');
        name = 'dockerfile';
      }
    }
    const st = tryStat(p);
    // buildx's wording: the Dockerfile's directory is a "local" of its own, the file is its base name
    if (!tryStat(posix.dirname(p))) throw new UserError(`resolve : lstat ${posix.dirname(p)}: no such file or directory`);
    if (!st) throw new UserError(`failed to read dockerfile: open ${posix.basename(p)}: no such file or directory`);
    if (st.isDirectory()) throw new UserError(`failed to read dockerfile: read ${posix.basename(p)}: is a directory`);
    dockerfile = { text: readTextBounded(p, 'Dockerfile'), path: p, name };
  }

  if (opts.ignore !== undefined) return { dir: real, dockerfile, ignore: patternMatcher(parseDockerignore(opts.ignore)), ignoreText: opts.ignore };
  const candidates: string[] = [];
  if (dockerfile.path) candidates.push(`${dockerfile.path}.dockerignore`);
  candidates.push(posix.join(real, '.dockerignore'));
  return { ...readIgnore(real, candidates), dockerfile };
}

/** A context directory with the first ignore file of `candidates` that exists (none: nothing ignored). */
function readIgnore(dir: string, candidates: string[]): ContextDir {
  for (const c of candidates) {
    const t = tryRead(c);
    if (t !== undefined) return { dir, ignore: patternMatcher(parseDockerignore(t)), ignoreFile: c, ignoreText: t };
  }
  return { dir, ignore: patternMatcher([]) };
}

/**
 * A named build context directory (`--build-context NAME=DIR`), as BuildKit's dockerui loads one:
 * the directory's own `.dockerignore` applies (COPY --from=NAME and mounts never see what it
 * excludes); there is no Dockerfile-specific ignore file. Errors are buildx's.
 */
export function loadNamedContext(name: string, dir: string, cwd = process.cwd()): ContextDir {
  const abs = posix.resolve(cwd, dir);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    throw new UserError(`failed to get build context ${name}: stat ${abs}: no such file or directory`);
  }
  if (!statSync(real).isDirectory()) throw new UserError(`failed to get build context ${name}: ${abs} is not a directory`);
  return readIgnore(real, [posix.join(real, '.dockerignore')]);
}

/**
 * Gives the context a metadata cache kept in `file` (one file per context directory; undefined =
 * in memory only). Save it with `ctx.meta.save()` when the build has hashed what it needs.
 */
export function useMetaCache(ctx: ContextDir, file: string | undefined): ContextMetaCache {
  ctx.meta = ContextMetaCache.open(ctx.dir, file);
  return ctx.meta;
}

/**
 * Bytes of the files a build may read from the context (what "transferring context" shows): regular
 * files not ignored; an ignored directory is not entered unless an exclusion (`!`) may bring some
 * of it back.
 */
export function contextSize(ctx: ContextDir): number {
  const ignore = ctx.ignore;
  const seen = { stats: new Map<string, Stats>(), names: new Map<string, string[]>() };
  let size = 0;
  const walk = (host: string, rel: string): void => {
    let names: string[];
    try {
      names = sortedChildren(host);
    } catch {
      return;
    }
    seen.names.set(host, names);
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      if (ignore.ignores(r) && !ignore.hasNegation) continue;
      const p = `${host}/${n}`;
      const st = lstatSync(p);
      seen.stats.set(p, st);
      if (st.isDirectory()) walk(p, r);
      else if (!ignore.ignores(r)) size += st.isFile() ? st.size : 0;
    }
  };
  walk(ctx.dir, '');
  ctx.seen = seen;
  return size;
}

function tryStat(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

export interface HashOptions {
  /** .dockerignore matcher (default: the context's when a BuildContext is given; none for a root) */
  ignore?: PathMatcher;
  exclude?: string[];
  parents?: boolean;
  /** include uid/gid in the hash (stage/image sources keep ownership; context files become 0:0) */
  includeOwnership?: boolean;
}

const fileDigests = new Map<string, string>();

const SMALL_FILE = 64 << 10;

function remember(key: string, digest: string): void {
  if (fileDigests.size > 500_000) fileDigests.clear();
  fileDigests.set(key, digest);
}

function digestKey(host: string, s: Stats): string {
  return `${host}\0${s.dev}\0${s.ino}\0${s.size}\0${s.mtimeMs}\0${s.ctimeMs}`;
}

async function digestFile(host: string, size: number): Promise<string> {
  const h = createHash('sha256');
  if (size < 8 << 20) h.update(await readFile(host));
  else for await (const c of createReadStream(host)) h.update(c as Buffer);
  return h.digest('hex');
}

function typeOf(s: Stats): string {
  if (s.isDirectory()) return 'dir';
  if (s.isFile()) return 'file';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isFIFO()) return 'fifo';
  if (s.isCharacterDevice()) return 'char';
  if (s.isBlockDevice()) return 'block';
  return 'other';
}

/**
 * Content hash of what a COPY/ADD of `sources` would read from `ctx` (a BuildContext, or a plain
 * root directory such as a stage's mounted root). Same source resolution as `copyFiles`.
 * The tree walk is synchronous (lstat, and reads of small files); larger files not in the
 * in-process cache are read and hashed 8 at a time.
 */
export async function hashPaths(ctx: ContextDir | string, sources: readonly string[], opts: HashOptions = {}): Promise<string> {
  const root = typeof ctx === 'string' ? posix.resolve(ctx) : ctx.dir;
  const ignore = opts.ignore ?? (typeof ctx === 'string' ? undefined : ctx.ignore);
  const meta = typeof ctx === 'string' ? undefined : ctx.meta;
  const seen = typeof ctx === 'string' ? undefined : ctx.seen;
  const children = (host: string): string[] => seen?.names.get(host) ?? sortedChildren(host);
  // records: a line of metadata, then (for regular files) the content digest appended later
  const lines: string[] = [];
  const pendingFiles: { idx: number; host: string; key: string; st: Stats }[] = [];
  const put = (...fields: (string | number)[]): number => lines.push(fields.join('\0')) - 1;
  put('stagecraft-copy-hash-v1', opts.parents ? 'parents' : '', ...(opts.exclude ?? []));
  for (const src of sources) {
    put('source', src);
    if (isUrl(src)) continue; // remote content is keyed by the caller (download/checksum)
    if (isGitUrl(src)) {
      // a git source is keyed by the commit its ref names now; unreachable → never a cache hit
      put('git', await resolveGitCommit(src).catch(() => `unresolved ${Date.now()} ${Math.random()}`));
      continue;
    }
    const jobs: SourceJob[] = expandSources(root, [src], { ignore, parents: opts.parents, exclude: opts.exclude });
    const wildcard = hasWildcards(src);
    for (const job of jobs) {
      put('match', job.resolved);
      const visit = (host: string, rel: string): void => {
        const s = seen?.stats.get(host) ?? lstatSync(host);
        if (s.isCharacterDevice() && s.rdev === 0) return; // an overlay whiteout: absent
        if (rel !== '') {
          const rootRel = job.rootRel === '' ? rel : `${job.rootRel}/${rel}`;
          const d = decide(job.filter, rel, rootRel, s.isDirectory());
          if (!d.include && !d.descend) return;
          if (d.descend) {
            put('via', rel);
            for (const n of children(host)) visit(posix.join(host, n), `${rel}/${n}`);
            return;
          }
        }
        const fields: (string | number)[] = ['e', rel, typeOf(s), (s.mode & 0o7777).toString(8)];
        if (opts.includeOwnership) fields.push(s.uid, s.gid);
        if (s.isSymbolicLink()) {
          const target = readlinkSync(host);
          // BuildKit follows symlinks below a wildcard match while computing the cache key: a
          // target that is not in the (.dockerignore-filtered) context fails the step
          if (wildcard && rel !== '') requireLinkTarget(root, posix.join(job.resolved, rel), target, ignore);
          fields.push(target);
        }
        else if (s.isCharacterDevice() || s.isBlockDevice()) fields.push(s.rdev);
        else if (s.isFile()) fields.push(s.size);
        const idx = put(...fields);
        if (s.isFile()) {
          const key = digestKey(host, s);
          let hit = meta?.lookup(host, s);
          if (!hit) {
            hit = fileDigests.get(key);
            if (hit) meta?.record(host, s, hit);
          }
          if (hit) lines[idx] += `\0${hit}`;
          else if (s.size <= SMALL_FILE) {
            // small files: a synchronous read is cheaper than a round trip through the thread pool
            const d = createHash('sha256').update(readFileSync(host)).digest('hex');
            remember(key, d);
            meta?.record(host, s, d);
            lines[idx] += `\0${d}`;
          } else pendingFiles.push({ idx, host, key, st: s });
        }
        if (s.isDirectory()) {
          for (const n of children(host)) visit(posix.join(host, n), rel === '' ? n : `${rel}/${n}`);
        }
      };
      visit(job.host, '');
    }
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pendingFiles.length) {
      const f = pendingFiles[next++];
      const d = await digestFile(f.host, f.st.size);
      remember(f.key, d);
      meta?.record(f.host, f.st, d);
      lines[f.idx] += `\0${d}`;
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, pendingFiles.length) }, worker));
  const h = createHash('sha256');
  for (const l of lines) h.update(`${l}\n`);
  return `sha256:${h.digest('hex')}`;
}

/** Throws BuildKit's cache-key error when symlink `link` (container path) points at nothing in the context. */
function requireLinkTarget(root: string, link: string, target: string, ignore: PathMatcher | undefined): void {
  const abs = posix.normalize(target.startsWith('/') ? target : posix.join(posix.dirname(link), target));
  let ok = !ignore?.ignores(abs.slice(1));
  if (ok) {
    try {
      lstatSync(resolveInRoot(root, abs, true));
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new UserError(`failed to compute cache key: failed to calculate checksum of ref: ${JSON.stringify(abs)}: not found`);
}

function sortedChildren(dir: string): string[] {
  const n = readdirSync(dir);
  n.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return n;
}
