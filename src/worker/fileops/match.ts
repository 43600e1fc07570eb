/**
 * Wildcards exactly as BuildKit resolves COPY/ADD sources: Go's `path/filepath.Match` (a port, not a
 * translation to regex), plus fsutil's `containsWildcards` / `splitWildcards`.
 *
 * In: a pattern and a slash-separated name. Out: whether they match. `*` and `?` never match `/`;
 * `[...]` classes take ranges and `^` negation; `\` escapes the next character. A malformed pattern
 * (e.g. `[`) raises `BadPatternError`; BuildKit ignores that error while walking, so callers treat it
 * as "no match".
 */

export class BadPatternError extends Error {
  constructor() {
    super('syntax error in pattern');
  }
}

/** True when `name` holds an unescaped `*`, `?` or `[` (fsutil's containsWildcards on Unix). */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/**
 * Splits a cleaned relative/absolute path at the first component that contains a wildcard:
 * `a/b/*.txt/c` → [`a/b`, `*.txt/c`]. The second part is '' when there is no wildcard.
 */
export function splitWildcards(p: string): [string, string] {
  const parts = p.split('/');
  const p1: string[] = [];
  const p2: string[] = [];
  let found = false;
  for (const part of parts) {
    if (!found && containsWildcards(part)) found = true;
    if (part === '') continue;
    (found ? p2 : p1).push(part);
  }
  const lead = p.startsWith('/') ? '/' : '';
  return [lead + p1.join('/'), p2.join('/')];
}

/** Go's filepath.Match (Unix). Throws BadPatternError for a malformed pattern. */
export function goMatch(pattern: string, name: string): boolean {
  let pat = Array.from(pattern);
  let nm = Array.from(name);
  outer: while (pat.length > 0) {
    const sc = scanChunk(pat);
    const star = sc.star;
    const chunk = sc.chunk;
    pat = sc.rest;
    if (star && chunk.length === 0) {
      // Trailing * matches the rest of the string unless it has a /.
      return !nm.includes('/');
    }
    const r = matchChunk(chunk, nm);
    if (r.ok && (r.rest.length === 0 || pat.length > 0)) {
      nm = r.rest;
      continue;
    }
    if (star) {
      for (let i = 0; i < nm.length && nm[i] !== '/'; i++) {
        const t = matchChunk(chunk, nm.slice(i + 1));
        if (t.ok) {
          if (pat.length === 0 && t.rest.length > 0) continue;
          nm = t.rest;
          continue outer;
        }
      }
    }
    // Before returning false, make sure the rest of the pattern is valid.
    while (pat.length > 0) {
      const s2 = scanChunk(pat);
      pat = s2.rest;
      matchChunk(s2.chunk, []);
    }
    return false;
  }
  return nm.length === 0;
}

/** goMatch that answers false instead of throwing for a malformed pattern (how fsutil uses it). */
export function goMatchLoose(pattern: string, name: string): boolean {
  try {
    return goMatch(pattern, name);
  } catch {
    return false;
  }
}

function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let star = false;
  let p = pattern;
  while (p.length > 0 && p[0] === '*') {
    p = p.slice(1);
    star = true;
  }
  let inrange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inrange = true;
        break;
      case ']':
        inrange = false;
        break;
      case '*':
        if (!inrange) break scan;
        break;
    }
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

function matchChunk(chunkIn: string[], sIn: string[]): { rest: string[]; ok: boolean } {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    switch (chunk[0]) {
      case '[': {
        let r = '';
        if (!failed) {
          r = s[0];
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
        let negated = false;
        if (chunk.length > 0 && chunk[0] === '^') {
          negated = true;
          chunk = chunk.slice(1);
        }
        let match = false;
        let nrange = 0;
        for (;;) {
          if (chunk.length > 0 && chunk[0] === ']' && nrange > 0) {
            chunk = chunk.slice(1);
            break;
          }
          const lo = getEsc(chunk);
          chunk = lo.rest;
          let hi = lo.r;
          if (chunk[0] === '-') {
            const h = getEsc(chunk.slice(1));
            hi = h.r;
            chunk = h.rest;
          }
          if (!failed && cp(lo.r) <= cp(r) && cp(r) <= cp(hi)) match = true;
          nrange++;
        }
        if (match === negated) failed = true;
        break;
      }
      case '?':
        if (!failed) {
          if (s[0] === '/') failed = true;
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
        break;
      default:
        if (chunk[0] === '\\') {
          chunk = chunk.slice(1);
          if (chunk.length === 0) throw new BadPatternError();
        }
        if (!failed) {
          if (chunk[0] !== s[0]) failed = true;
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
    }
  }
  if (failed) return { rest: [], ok: false };
  return { rest: s, ok: true };
}

function getEsc(chunkIn: string[]): { r: string; rest: string[] } {
  let chunk = chunkIn;
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') throw new BadPatternError();
  if (chunk[0] === '\\') {
    chunk = chunk.slice(1);
    if (chunk.length === 0) throw new BadPatternError();
  }
  const r = chunk[0];
  const rest = chunk.slice(1);
  if (rest.length === 0) throw new BadPatternError();
  return { r, rest };
}

function cp(c: string): number {
  return c.codePointAt(0) ?? -1;
}
