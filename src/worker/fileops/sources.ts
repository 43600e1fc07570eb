/**
 * Source resolution for COPY/ADD, shared by the copier and the content hasher: turns the source
 * paths a Dockerfile names into host paths inside `srcRoot`, the way BuildKit's file op does
 * (fsutil `ResolveWildcards` + `rootPath` with FollowLinks):
 *
 * - a source is a container-style path inside the root (`..` never climbs out, a leading `/` is the
 *   root); symlinks in it, INCLUDING the final component, are followed but scoped to the root;
 * - a source with an unescaped `*`, `?` or `[` is split at its first wildcard component; the part
 *   before is resolved (scoped), the tree below is walked without following links, and every path
 *   whose relative name matches the rest (Go filepath.Match) is a match; a matched directory is not
 *   descended; no match is NOT an error (BuildKit's AllowEmptyWildcard), but a missing directory
 *   before the wildcard is (`lstat /nodir: no such file or directory`, as BuildKit's walk fails);
 * - a missing non-wildcard source is an error worded like BuildKit's cache-key failure;
 * - with an ignore matcher (the context's .dockerignore), ignored paths do not exist.
 *
 * Also the tree filter used while copying: `--exclude` patterns, `--parents` include patterns and the
 * ignore matcher, with Docker's pattern semantics (a pattern matching a directory covers its contents,
 * `!` re-includes).
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import ignoreModule from '@balena/dockerignore';

interface BalenaIgnore {
  add(patterns: string[]): BalenaIgnore;
  ignores(p: string): boolean;
}
// CommonJS module (module.exports = factory): its default import IS the factory at runtime
const ignore = ignoreModule as unknown as () => BalenaIgnore;
import { UserError } from '../../util/errors.js';
import { cleanPath, resolveInRoot } from '../../util/fspath.js';
import { containsWildcards, goMatchLoose, splitWildcards } from './match.js';

/** A path matcher with Docker's pattern semantics (what loadContext returns for .dockerignore). */
export interface PathMatcher {
  /** `rel`: slash-separated, relative to the matcher's base, no leading `/`. True when excluded. */
  ignores(rel: string): boolean;
  /** true when some pattern starts with `!` (an excluded directory may have included children) */
  readonly hasNegation: boolean;
  readonly patterns: readonly string[];
}

/** Builds a PathMatcher from Docker-style patterns (.dockerignore lines, --exclude values). */
export function patternMatcher(patterns: readonly string[]): PathMatcher {
  const clean = patterns.map((p) => p.trim()).filter((p) => p !== '' && !p.startsWith('#'));
  // no patterns (the common case): nothing is excluded, and a 100k-file context is not matched path by path
  if (clean.length === 0) return { patterns: clean, hasNegation: false, ignores: () => false };
  const ig = ignore().add(clean);
  const cache = new Map<string, boolean>();
  return {
    patterns: clean,
    hasNegation: clean.some((p) => p.startsWith('!')),
    ignores(rel: string): boolean {
      if (rel === '' || rel === '.') return false;
      const hit = cache.get(rel);
      if (hit !== undefined) return hit;
      const v = ig.ignores(rel);
      if (cache.size > 100_000) cache.clear();
      cache.set(rel, v);
      return v;
    },
  };
}

export interface ResolvedSource {
  /** the source as named by the match (cleaned, relative to the root, '' = the root itself) */
  name: string;
  /** host path after following symlinks inside the root */
  host: string;
  /** container-style path of `host` inside the root, e.g. `/etc/passwd` */
  resolved: string;
  /** lstat of `host` (never a symlink unless a link loop limit was hit) */
  st: Stats;
}

/** An overlay whiteout (char device 0/0): seen only in unmounted snapshot dirs; means "absent". */
export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export function notFound(p: string): UserError {
  return new UserError(`failed to compute cache key: failed to calculate checksum of ref: "${p}": not found`);
}

function relOf(root: string, host: string): string {
  const r = posix.relative(posix.resolve(root), host);
  return r === '' ? '' : r;
}

function tryLstat(p: string): Stats | undefined {
  try {
    return lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, ELOOP, EACCES: treat as missing
  }
}

function sortedNames(dir: string): string[] {
  const names = readdirSync(dir);
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names;
}

/**
 * Expands one source into its matches. `ignore` (context only) hides ignored paths. Throws the
 * BuildKit-style not-found UserError for a missing non-wildcard source.
 */
export function resolveSource(root: string, src: string, opts: { ignore?: PathMatcher } = {}): ResolvedSource[] {
  const cleaned = cleanPath(src);
  const ig = opts.ignore;
  /** hidden by .dockerignore: ignored, and (for a directory) nothing below is re-included by `!` */
  const hidden = (rel: string, host: string, st: Stats): boolean => {
    if (!ig || !ig.ignores(rel)) return false;
    if (!st.isDirectory() || !ig.hasNegation) return true;
    return !hasVisibleDescendant(ig, host, rel);
  };
  const names: string[] = [];
  const [d1, d2] = splitWildcards(cleaned);
  if (d2 !== '') {
    const base = resolveInRoot(root, d1, true);
    const baseSt = tryLstat(base);
    // BuildKit walks the part before the first wildcard: a missing one fails the walk (moby/buildkit
    // #2933); a file there is missing too, since the context transfer only sends matching paths
    if (!baseSt?.isDirectory() || hidden(relOf(root, base), base, baseSt)) {
      throw new UserError(`lstat /${relOf(root, base)}: no such file or directory`);
    }
    const walk = (dirHost: string, relFromBase: string): void => {
      let entries: string[];
      try {
        entries = sortedNames(dirHost);
      } catch {
        return;
      }
      for (const n of entries) {
        const h = posix.join(dirHost, n);
        const r = relFromBase === '' ? n : `${relFromBase}/${n}`;
        const rootRel = relOf(root, h);
        const st = tryLstat(h);
        if (!st || isWhiteout(st)) continue;
        const ign = !!ig && ig.ignores(rootRel);
        if (ign && !(st.isDirectory() && ig.hasNegation)) continue;
        if (goMatchLoose(d2, r) && !(ign && hidden(rootRel, h, st))) {
          names.push(rootRel);
          continue; // a matched directory is not descended (filepath.SkipDir)
        }
        if (st.isDirectory()) walk(h, r);
      }
    };
    walk(base, '');
  } else {
    names.push(cleaned.slice(1));
  }
  const out: ResolvedSource[] = [];
  for (const name of names) {
    const host = resolveInRoot(root, `/${name}`, true);
    const rel = relOf(root, host);
    const resolved = `/${rel}`;
    const st = tryLstat(host);
    if (!st || isWhiteout(st) || hidden(rel, host, st)) throw notFound(resolved);
    out.push({ name, host, resolved, st });
  }
  return out;
}

/** Does ignored directory `rel` contain an entry that a `!` pattern re-includes? */
function hasVisibleDescendant(ig: PathMatcher, host: string, rel: string): boolean {
  let names: string[];
  try {
    names = readdirSync(host);
  } catch {
    return false;
  }
  for (const n of names) {
    const r = `${rel}/${n}`;
    const h = posix.join(host, n);
    if (!ig.ignores(r)) return true;
    const st = tryLstat(h);
    if (st?.isDirectory() && hasVisibleDescendant(ig, h, r)) return true;
  }
  return false;
}

/** Filters applied to the entries BELOW a source while copying or hashing it. */
export interface TreeFilter {
  /** .dockerignore (paths relative to the context root); `rootRel` is the source's path in it */
  ignore?: PathMatcher;
  /** --exclude patterns, relative to the source */
  exclude?: PathMatcher;
  /** --parents include pattern(s), relative to the source (the pivot) */
  include?: PathMatcher;
}

export interface FilterDecision {
  /** copy this entry (and, for a directory, everything below unless a child is filtered) */
  include: boolean;
  /** a directory that is not included itself but may have included descendants */
  descend: boolean;
}

/** Can some path below directory `rel` match one of `patterns` (component-wise prefix check)? */
function mayContainMatch(patterns: readonly string[], rel: string): boolean {
  const parts = rel.split('/');
  for (const raw of patterns) {
    if (raw.startsWith('!')) continue;
    const pat = cleanPath(raw).slice(1);
    if (pat.includes('**')) return true;
    const pp = pat.split('/');
    if (pp.length <= parts.length) continue;
    let ok = true;
    for (let i = 0; i < parts.length; i++) {
      if (!goMatchLoose(pp[i], parts[i])) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

export function decide(f: TreeFilter, rel: string, rootRel: string, isDir: boolean): FilterDecision {
  let include = true;
  let descend = true;
  if (f.include) {
    if (!f.include.ignores(rel)) {
      include = false;
      if (!isDir || !mayContainMatch(f.include.patterns, rel)) descend = false;
    }
  }
  if (f.exclude && f.exclude.ignores(rel)) {
    include = false;
    if (!f.exclude.hasNegation) descend = false;
  }
  if (f.ignore && f.ignore.ignores(rootRel)) {
    include = false;
    if (!f.ignore.hasNegation) descend = false;
  }
  if (!isDir) descend = false;
  return { include, descend: !include && descend };
}

export function hasWildcards(p: string): boolean {
  return containsWildcards(p);
}

export { sortedNames, tryLstat, relOf };

export interface SourceJob {
  /** host path of the (followed) source */
  host: string;
  /** the match as named (relative to the root) */
  name: string;
  /** container path of `host` in the root */
  resolved: string;
  /** `host` relative to the root ('' = root): the base for .dockerignore checks below it */
  rootRel: string;
  st: Stats;
  filter: TreeFilter;
}

/**
 * Expands local (non-URL) sources into copy jobs, applying --parents (pivot + include pattern) and
 * --exclude, exactly as the copier and the content hasher both need them.
 */
export function expandSources(
  root: string,
  sources: readonly string[],
  opts: { ignore?: PathMatcher; parents?: boolean; exclude?: readonly string[] } = {},
): SourceJob[] {
  const exclude = opts.exclude && opts.exclude.length > 0 ? patternMatcher(opts.exclude) : undefined;
  const jobs: SourceJob[] = [];
  for (const src of sources) {
    let base = src;
    let include: PathMatcher | undefined;
    if (opts.parents) {
      const i = src.indexOf('/./');
      let pattern: string;
      if (i < 0) {
        pattern = src;
        base = '/';
      } else {
        base = src.slice(0, i);
        pattern = src.slice(i + 3);
      }
      pattern = cleanPath(pattern).slice(1);
      include = patternMatcher([pattern]);
      if (!containsWildcards(base) && !containsWildcards(pattern)) {
        // BuildKit's RequiredPaths: a literal --parents source must exist
        resolveSource(root, posix.join('/', base, pattern), { ignore: opts.ignore });
      }
    }
    const wildcard = containsWildcards(base);
    for (const m of resolveSource(root, base, { ignore: opts.ignore })) {
      // documented: `COPY --exclude=*.txt hom* /mydir/` skips the .txt files the glob matched
      if (wildcard && exclude && exclude.ignores(m.name)) continue;
      jobs.push({
        host: m.host,
        name: m.name,
        resolved: m.resolved,
        rootRel: relOf(root, m.host),
        st: m.st,
        filter: { ignore: opts.ignore, exclude, include },
      });
    }
  }
  return jobs;
}
