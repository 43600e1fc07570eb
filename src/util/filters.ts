/**
 * docker's `--filter KEY=VALUE` arguments (the CLI's opts.FilterOpt and the daemon's filters.Args):
 * keys are lower-cased and trimmed, values trimmed, repeated keys collect their values; the
 * daemon-side checks (`invalid filter 'x'`, `label=K[=V]` matching, boolean values, `until`
 * times) are worded like docker's, without docker's "Error response from daemon: " (there is no daemon).
 */
import { UserError } from './errors.js';


export class Filters {
  private readonly fields = new Map<string, string[]>();

  /** Parses `-f/--filter` values; a value without `=` is the CLI's flag error (exit 125 like docker). */
  static parse(values: string[] = []): Filters {
    const f = new Filters();
    for (const v of values) {
      if (v === '') continue;
      if (!v.includes('=')) {
        throw new UserError(`invalid argument ${JSON.stringify(v)} for "-f, --filter" flag: bad format of filter (expected name=value)`, { exitCode: 125 });
      }
      const i = v.indexOf('=');
      f.add(v.slice(0, i).trim().toLowerCase(), v.slice(i + 1).trim());
    }
    return f;
  }

  add(key: string, value: string): void {
    const l = this.fields.get(key) ?? [];
    if (!l.includes(value)) l.push(value);
    this.fields.set(key, l);
  }

  has(key: string): boolean {
    return this.fields.has(key);
  }

  get(key: string): string[] {
    return this.fields.get(key) ?? [];
  }

  /** The daemon's Validate: the first key not accepted is `invalid filter 'KEY'`. */
  validate(accepted: string[]): void {
    for (const k of this.fields.keys()) if (!accepted.includes(k)) throw new UserError(`invalid filter '${k}'`);
  }

  /** `invalid filter 'KEY=[v1 v2]'` (Go's %s of the value list) */
  invalid(key: string): UserError {
    return new UserError(`invalid filter '${key}=[${this.get(key).join(' ')}]'`);
  }

  /** filters.GetBoolOrDefault: one of true/1/false/0 (any case); anything else is invalid. */
  bool(key: string): boolean | undefined {
    const vals = this.get(key);
    if (!this.has(key)) return undefined;
    if (vals.length !== 1) throw this.invalid(key);
    const v = vals[0]!.toLowerCase();
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw this.invalid(key);
  }

  /** filters.MatchKVList: every `label=K` must be present and every `label=K=V` equal. */
  matchLabels(labels: Record<string, string> | undefined | null, key = 'label'): boolean {
    for (const want of this.get(key)) {
      const i = want.indexOf('=');
      const k = i < 0 ? want : want.slice(0, i);
      if (!labels || !Object.prototype.hasOwnProperty.call(labels, k)) return false;
      if (i >= 0 && labels[k] !== want.slice(i + 1)) return false;
    }
    return true;
  }

  /** filters.Match: exact, or the value as a regular expression (an invalid one matches nothing). */
  matchRegexp(key: string, source: string): boolean {
    const vals = this.get(key);
    if (vals.length === 0) return true;
    return vals.some((v) => {
      if (v === source) return true;
      try {
        return new RegExp(v).test(source);
      } catch {
        return false;
      }
    });
  }
}

/**
 * `until` values as the daemon reads them: a Go duration before now (`10m`, `1h30m`), a Unix
 * timestamp (`1700000000[.5]`) or an RFC 3339 date/time. Returns epoch milliseconds.
 */
export function parseUntil(v: string, now = Date.now()): number {
  const dur = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.exec(v);
  if (dur) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    let ms = 0;
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * unit[m[2]!]!;
    return now - ms;
  }
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$/.test(v)) {
    const t = Date.parse(v.includes('T') || v.includes(' ') ? v.replace(' ', 'T') : `${v}T00:00:00`);
    if (Number.isFinite(t)) return t;
  }
  throw new UserError(`failed to parse value as time or duration: ${JSON.stringify(v)}`);
}

type PathTok = { k: 'star' } | { k: 'any' } | { k: 'lit'; c: string } | { k: 'class'; neg: boolean; set: string };

/**
 * Go's path.Match (the daemon's reference filter): `*`, `?`, `[...]` classes; `*` stops at `/`.
 * Matched token by token (no RegExp: a 40,000-character pattern is just a pattern), in
 * O(pattern × name) time.
 */
export function pathMatch(pattern: string, name: string): boolean {
  const toks: PathTok[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') toks.push({ k: 'star' });
    else if (c === '?') toks.push({ k: 'any' });
    else if (c === '\\') {
      i++;
      if (i >= pattern.length) throw new UserError('syntax error in pattern');
      toks.push({ k: 'lit', c: pattern[i]! });
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new UserError('syntax error in pattern');
      let set = pattern.slice(i + 1, end);
      const neg = set.startsWith('^');
      if (neg) set = set.slice(1);
      if (set === '') throw new UserError('syntax error in pattern');
      toks.push({ k: 'class', neg, set });
      i = end;
    } else toks.push({ k: 'lit', c });
  }
  const inClass = (t: { neg: boolean; set: string }, ch: string): boolean => {
    let hit = false;
    for (let j = 0; j < t.set.length; j++) {
      const lo = t.set[j]!;
      if (t.set[j + 1] === '-' && j + 2 < t.set.length) {
        const hi = t.set[j + 2]!;
        if (ch >= lo && ch <= hi) hit = true;
        j += 2;
      } else if (ch === lo) hit = true;
    }
    return hit !== t.neg;
  };
  // ok[p]: the tokens from `ti` on match name[p..]; computed from the last token back
  const n = name.length;
  let ok = new Uint8Array(n + 1);
  ok[n] = 1;
  for (let ti = toks.length - 1; ti >= 0; ti--) {
    const t = toks[ti]!;
    const cur = new Uint8Array(n + 1);
    for (let p = n; p >= 0; p--) {
      const ch = p < n ? name[p]! : undefined;
      if (t.k === 'star') cur[p] = ok[p]! || (ch !== undefined && ch !== '/' && cur[p + 1]!) ? 1 : 0;
      else if (ch === undefined) cur[p] = 0;
      else if (t.k === 'any') cur[p] = ch !== '/' && ok[p + 1]! ? 1 : 0;
      else if (t.k === 'lit') cur[p] = ch === t.c && ok[p + 1]! ? 1 : 0;
      else cur[p] = inClass(t, ch) && ok[p + 1]! ? 1 : 0;
    }
    ok = cur;
    if (!ok.includes(1)) return false;
  }
  return ok[0] === 1;
}
