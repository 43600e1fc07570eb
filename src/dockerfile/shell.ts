/**
 * Shell-word expansion, as BuildKit's `frontend/dockerfile/shell` lexer does it.
 *
 * In: a word from a Dockerfile (raw, with quotes, escapes and `$VAR` / `${VAR...}` references)
 * and an environment (`Map` or plain object). Out: the expanded string (`processWord`) or the
 * expanded word list after field splitting (`processWords`). Supports `$VAR`, `${VAR}`,
 * `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}`, `${VAR:?msg}`, `${VAR?msg}`, `${VAR#p}`,
 * `${VAR##p}`, `${VAR%p}`, `${VAR%%p}`, `${VAR/p/r}`, `${VAR//p/r}`, single and double quotes and
 * the escape character (`\` or `` ` ``). Errors are `ShellExpansionError` (a `UserError` without a
 * position; callers that know the instruction re-throw with one).
 */
import { UserError } from '../util/errors.js';
import { MAX_DOCKERFILE_SIZE } from '../util/limits.js';
import { goQuote, isSpace } from './gostr.js';

/** Variables: a Map, a plain object, or an image-config style list of `K=V` strings (later wins). */
export type Env = Map<string, string> | Record<string, string> | readonly string[];

export class ShellExpansionError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ShellExpansionError';
  }
}

export interface ProcessResult {
  result: string;
  words: string[];
  matched: Set<string>;
  unmatched: Set<string>;
}

export interface ShellLexOptions {
  /** keep quote characters in the output (used to detect quoted heredoc delimiters) */
  rawQuotes?: boolean;
  /** keep escape characters in the output */
  rawEscapes?: boolean;
  /** treat quotes as ordinary characters */
  skipProcessQuotes?: boolean;
  /** leave references to unset variables as they are (`$X`, `${X:-y}`) */
  skipUnsetEnv?: boolean;
}

const EOF = -1;
const letter = /^\p{L}$/u;
const digit = /^\p{Nd}$/u;

class Scanner {
  private chars: string[];
  private i = 0;
  constructor(src: string) {
    this.chars = Array.from(src);
    // text/scanner ignores a byte-order mark at the very start
    if (this.chars[0] === '\ufeff') this.i = 1;
  }
  peek(): string | typeof EOF {
    return this.i < this.chars.length ? this.chars[this.i]! : EOF;
  }
  next(): string | typeof EOF {
    return this.i < this.chars.length ? this.chars[this.i++]! : EOF;
  }
}

/** Any character Go's unicode.IsSpace accepts (see gostr.isSpace). */
const reSpace = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

class Words {
  word = '';
  words: string[] = [];
  inWord = false;
  addChar(ch: string): void {
    if (isSpace(ch) && this.inWord) {
      if (this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else if (!isSpace(ch)) {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    if (!reSpace.test(s)) {
      if (s !== '') this.addRawString(s); // the common case, in one step even for a long value
      return;
    }
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  getWords(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

function lookup(env: Env, name: string): string | undefined {
  if (env instanceof Map) return env.get(name);
  if (Array.isArray(env)) {
    let v: string | undefined;
    for (const e of env as readonly string[]) {
      const i = e.indexOf('=');
      if (i < 0 ? e === name : e.slice(0, i) === name) v = i < 0 ? '' : e.slice(i + 1);
    }
    return v;
  }
  const rec = env as Record<string, string>;
  return Object.prototype.hasOwnProperty.call(rec, name) ? rec[name] : undefined;
}

export class ShellLex {
  readonly escapeChar: string;
  rawQuotes: boolean;
  rawEscapes: boolean;
  skipProcessQuotes: boolean;
  skipUnsetEnv: boolean;

  constructor(escapeChar: string = '\\', opts: ShellLexOptions = {}) {
    this.escapeChar = escapeChar;
    this.rawQuotes = opts.rawQuotes ?? false;
    this.rawEscapes = opts.rawEscapes ?? false;
    this.skipProcessQuotes = opts.skipProcessQuotes ?? false;
    this.skipUnsetEnv = opts.skipUnsetEnv ?? false;
  }

  /** Expands `word` (quotes removed, variables substituted); no word splitting. */
  processWord(word: string, env: Env = {}): string {
    return this.process(word, env).result;
  }

  /** Expands `word` and splits it into fields the way BuildKit does (after substitution). */
  processWords(word: string, env: Env = {}): string[] {
    return this.process(word, env).words;
  }

  /** Expands and also reports which variable names were found and which were not. */
  processWordWithMatches(word: string, env: Env = {}): ProcessResult {
    return this.process(word, env);
  }

  process(word: string, env: Env = {}): ProcessResult {
    const w = new ShellWord(this, word, env);
    try {
      const [result, words] = w.processStopOn(EOF, this.rawEscapes);
      return { result, words, matched: w.matches, unmatched: w.nonmatches };
    } catch (e) {
      if (e instanceof LexFail) {
        const inner = e.message.replace(/\r/g, '\\r').replace(/\n/g, '\\n'); // keep messages on one line
        // BuildKit quotes the whole word; a hostile one could be megabytes, so keep the line short
        const shown = word.length > MAX_QUOTED ? `${goQuote(word.slice(0, MAX_QUOTED))}...` : goQuote(word);
        throw new ShellExpansionError(`failed to process ${shown}: ${inner}`);
      }
      throw e;
    }
  }
}

class LexFail extends Error {}

const MAX_QUOTED = 1024;

/**
 * The longest word an expansion may produce (UTF-16 units), the same bound as the Dockerfile itself
 * (BuildKit's 16 MiB): `ENV a=$a$a` doubling 40 times would otherwise reach terabytes.
 */
export const MAX_WORD_LENGTH = MAX_DOCKERFILE_SIZE;

function checkLength(s: string): string {
  if (s.length > MAX_WORD_LENGTH) throw new LexFail(`expanded word exceeds the maximum length of ${MAX_WORD_LENGTH} characters`);
  return s;
}

/** A word being read up to `stop` (BuildKit's processStopOn). */
interface WordFrame {
  k: 'word';
  stop: string | typeof EOF;
  raw: boolean;
  result: string;
  words: Words;
}
/** A double-quoted string being read. */
interface QuoteFrame {
  k: 'dq';
  result: string;
}
/** A `${name<op>...}` waiting for its nested word (`pattern`: the `/pattern/` part of `${x/p/r}`). */
interface DollarFrame {
  k: 'dollar';
  name: string;
  op: string;
  chs: string;
  nullIsUnset: boolean;
  phase: 'word' | 'pattern' | 'replacement';
  replaceAll: boolean;
  pattern: string;
}
type Frame = WordFrame | QuoteFrame | DollarFrame;

/**
 * One expansion. BuildKit's lexer recurses (word → `${` → word ...); this one keeps the same states
 * on an explicit stack, so nesting depth is bounded by memory, not by the call stack.
 */
class ShellWord {
  readonly matches = new Set<string>();
  readonly nonmatches = new Set<string>();
  private sc: Scanner;
  private stack: Frame[] = [];
  constructor(
    private lex: ShellLex,
    src: string,
    private env: Env,
  ) {
    this.sc = new Scanner(src);
  }

  processStopOn(stopChar: string | typeof EOF, rawEscapes: boolean): [string, string[]] {
    this.stack = [this.wordFrame(stopChar, rawEscapes)];
    try {
      for (;;) {
        const f = this.stack[this.stack.length - 1]!;
        const done = f.k === 'word' ? this.stepWord(f) : this.stepQuote(f as QuoteFrame);
        if (done !== undefined) return done;
      }
    } catch (e) {
      throw this.unwind(e);
    }
  }

  private wordFrame(stop: string | typeof EOF, raw: boolean): WordFrame {
    return { k: 'word', stop, raw, result: '', words: new Words() };
  }

  /** BuildKit reports an error inside `${...}` that ran into the end of input as the missing closer. */
  private unwind(e: unknown): unknown {
    if (!(e instanceof LexFail) || this.sc.peek() !== EOF) return e;
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const f = this.stack[i]!;
      if (f.k === 'dollar') e = new LexFail(f.phase === 'pattern' ? "syntax error: missing '/' in ${}" : "syntax error: missing '}'");
    }
    return e;
  }

  /** The escape mode of the innermost word (a double-quoted string inherits it). */
  private rawEscapes(): boolean {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const f = this.stack[i]!;
      if (f.k === 'word') return f.raw;
    }
    return this.lex.rawEscapes;
  }

  /** One step of a word; returns the outermost result when the whole input is done. */
  private stepWord(f: WordFrame): [string, string[]] | undefined {
    let ch = this.sc.peek();
    if (ch !== EOF && !(f.stop !== EOF && ch === f.stop)) {
      if (ch === '$') {
        const v = this.startDollar();
        if (v !== undefined) this.deliver(v);
        return undefined;
      }
      if (!this.lex.skipProcessQuotes && (ch === "'" || ch === '"')) {
        if (ch === "'") {
          const v = this.processSingleQuote();
          f.result = checkLength(f.result + v);
          f.words.addRawString(v);
        } else {
          const first = this.sc.next() as string;
          this.stack.push({ k: 'dq', result: this.lex.rawQuotes ? first : '' });
        }
        return undefined;
      }
      ch = this.sc.next() as string;
      if (ch === this.lex.escapeChar) {
        if (f.raw) {
          f.words.addRawChar(ch);
          f.result += ch;
        }
        const n = this.sc.next();
        if (n !== EOF) {
          f.words.addRawChar(n);
          f.result += n;
          return undefined;
        }
        // an escape at the very end: the word ends here
      } else {
        f.words.addChar(ch);
        f.result += ch;
        return undefined;
      }
    } else if (ch !== EOF) {
      this.sc.next(); // the stop character
      return this.finishWord(f);
    }
    if (f.stop !== EOF) throw new LexFail(`unexpected end of statement while looking for matching ${f.stop}`);
    return this.finishWord(f);
  }

  private finishWord(f: WordFrame): [string, string[]] | undefined {
    this.stack.pop();
    const words = f.words.getWords();
    checkLength(f.result);
    if (this.stack.length === 0) return [f.result, words];
    const parent = this.stack[this.stack.length - 1] as DollarFrame;
    this.nestedWordDone(parent, f.result);
    return undefined;
  }

  private stepQuote(f: QuoteFrame): undefined {
    const p = this.sc.peek();
    if (p === EOF) throw new LexFail('unexpected end of statement while looking for matching double-quote');
    if (p === '"') {
      const ch = this.sc.next() as string;
      if (this.lex.rawQuotes) f.result += ch;
      this.stack.pop();
      const w = this.stack[this.stack.length - 1] as WordFrame;
      w.result = checkLength(w.result + f.result);
      w.words.addRawString(f.result);
      return undefined;
    }
    if (p === '$') {
      const v = this.startDollar();
      if (v !== undefined) this.deliver(v);
      return undefined;
    }
    let ch = this.sc.next() as string;
    if (ch === this.lex.escapeChar) {
      if (this.rawEscapes()) f.result += ch;
      const n = this.sc.peek();
      if (n === EOF) return undefined; // ignore the escape at the end of the word
      if (n === '"' || n === '$' || n === this.lex.escapeChar) ch = this.sc.next() as string;
    }
    f.result += ch;
    return undefined;
  }

  /** A `$...` expansion's value reaches the word or quoted string it is in. */
  private deliver(v: string): void {
    const f = this.stack[this.stack.length - 1]!;
    if (f.k === 'dq') {
      f.result = checkLength(f.result + v);
    } else if (f.k === 'word') {
      f.result = checkLength(f.result + v);
      f.words.addString(v);
    }
  }

  private getEnv(name: string): [string, boolean] {
    const v = lookup(this.env, name);
    if (v !== undefined) {
      this.matches.add(name);
      return [v, true];
    }
    this.nonmatches.add(name);
    return ['', false];
  }

  private processSingleQuote(): string {
    let result = '';
    let ch = this.sc.next();
    if (this.lex.rawQuotes) result += ch;
    for (;;) {
      ch = this.sc.next();
      if (ch === EOF) throw new LexFail('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.lex.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  /**
   * Reads a `$` expansion up to where it needs a nested word. Returns the value when it has none
   * (`$X`, `${X}`), else pushes the `${...}` state and the nested word and returns undefined.
   */
  private startDollar(): string | undefined {
    this.sc.next(); // the '$'
    if (this.sc.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const [value, found] = this.getEnv(name);
      if (!found && this.lex.skipUnsetEnv) return '$' + name;
      return value;
    }
    this.sc.next(); // '{'
    const p = this.sc.peek();
    if (p === EOF) throw new LexFail("syntax error: missing '}'");
    if (p === '{' || p === '}' || p === ':') throw new LexFail('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.sc.next();
    if (ch === EOF) throw new LexFail("syntax error: missing '}'");
    let chs = ch;
    let nullIsUnset = false;
    switch (ch) {
      case '}': {
        const [value, set] = this.getEnv(name);
        if (!set && this.lex.skipUnsetEnv) return `\${${name}}`;
        return value;
      }
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%': {
        if (ch === ':') {
          nullIsUnset = true;
          ch = this.sc.next();
          chs += ch === EOF ? '' : ch;
        }
        const op = ch === EOF ? '' : ch;
        this.stack.push({ k: 'dollar', name, op, chs, nullIsUnset, phase: 'word', replaceAll: false, pattern: '' });
        this.stack.push(this.wordFrame('}', op === '#' || op === '%'));
        return undefined;
      }
      case '/': {
        const replaceAll = this.sc.peek() === '/';
        if (replaceAll) this.sc.next();
        this.stack.push({ k: 'dollar', name, op: '/', chs, nullIsUnset, phase: 'pattern', replaceAll, pattern: '' });
        this.stack.push(this.wordFrame('/', true));
        return undefined;
      }
      default:
        throw new LexFail(`unsupported modifier (${chs}) in substitution`);
    }
  }

  /** The nested word of `${...}` is complete: read the next part, or compute the value. */
  private nestedWordDone(d: DollarFrame, word: string): void {
    if (d.phase === 'pattern') {
      d.pattern = word;
      d.phase = 'replacement';
      this.stack.push(this.wordFrame('}', true));
      return;
    }
    this.stack.pop();
    this.deliver(this.finishDollar(d, word));
  }

  private finishDollar(d: DollarFrame, word: string): string {
    const { name, chs } = d;
    const [value, set] = this.getEnv(name);
    if (d.phase === 'replacement') {
      if (this.lex.skipUnsetEnv && !set) return `\${${name}/${d.pattern}/${word}}`;
      return replacePattern(value, d.pattern, word, d.replaceAll);
    }
    if (this.lex.skipUnsetEnv && !set) return `\${${name}${chs}${word}}`;
    const unset = !set || (d.nullIsUnset && value === '');
    switch (d.op) {
      case '-':
        return unset ? word : value;
      case '+':
        return unset ? '' : word;
      case '?':
        if (!set) throw new LexFail(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
        if (d.nullIsUnset && value === '') throw new LexFail(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
        return value;
      case '%':
      case '#': {
        let greedy = false;
        if (word.length > 0 && word[0] === d.op) {
          greedy = true;
          word = word.slice(1);
        }
        return d.op === '%' ? trimSuffix(word, value, greedy) : trimPrefix(word, value, greedy);
      }
      default:
        throw new LexFail(`unsupported modifier (${chs}) in substitution`);
    }
  }

  private processName(): string {
    let name = '';
    for (;;) {
      const ch = this.sc.peek();
      if (ch === EOF) break;
      if (name.length === 0 && digit.test(ch)) {
        for (;;) {
          const d = this.sc.peek();
          if (d === EOF || !digit.test(d)) break;
          name += this.sc.next();
        }
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) {
        return this.sc.next() as string;
      }
      if (!letter.test(ch) && !digit.test(ch) && ch !== '_') break;
      name += this.sc.next();
    }
    return name;
  }
}

function isSpecialParam(ch: string): boolean {
  return '@*#?-$!0'.includes(ch) && ch.length === 1;
}

/** Go regexp.Expand for a replacement template; our patterns have no groups, so only `$0` is the match. */
function goExpand(template: string, match: string): string {
  if (!template.includes('$')) return template;
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    const rest = template.slice(i + 1);
    if (rest.startsWith('$')) {
      out += '$';
      i++;
      continue;
    }
    let m = /^\{([A-Za-z0-9_]+)\}/.exec(rest);
    if (!m) m = /^([A-Za-z0-9_]+)/.exec(rest);
    if (!m) {
      out += '$';
      continue;
    }
    const name = m[1]!;
    if (/^[0-9]+$/.test(name) && Number(name) === 0) out = checkLength(out + match);
    i += m[0].length;
  }
  return out;
}

type GlobTok = { k: 'star' } | { k: 'any' } | { k: 'lit'; c: string };

/**
 * A shell pattern (`*`, `?`, `\` escapes) as BuildKit's convertShellPatternToRegex reads it, matched
 * with the same leftmost-first priority as Go's regexp, but by memoised search: linear-ish in the
 * input, never the exponential backtracking a JS RegExp would do on `*a*a*a*b`.
 */
class Glob {
  private readonly toks: GlobTok[] = [];
  constructor(
    pattern: string,
    private readonly greedy: boolean,
  ) {
    const chars = Array.from(pattern);
    for (let i = 0; i < chars.length; i++) {
      const tok = chars[i]!;
      if (tok === '*') this.toks.push({ k: 'star' });
      else if (tok === '?') this.toks.push({ k: 'any' });
      else if (tok === '\\') {
        const nx = chars[i + 1];
        if (nx === '}' || nx === '/') continue; // the escape is not part of the pattern
        i++;
        if (nx !== '*' && nx !== '?' && nx !== '\\') {
          throw new LexFail(`invalid pattern (${pattern}) in substitution: invalid escape '\\${nx ?? ''}'`);
        }
        this.toks.push({ k: 'lit', c: nx });
      } else this.toks.push({ k: 'lit', c: tok });
    }
  }

  /**
   * Matches against one subject: `ends[s]` is where the match starting at `s` ends (-1: none),
   * choosing what Go's backtracking-order semantics choose. Dynamic programming over
   * (token, position), right to left: O(tokens × length) time, O(length) memory.
   */
  on(subject: string): { chars: string[]; matchAt(start: number): number; find(from: number): [number, number] | undefined } {
    const chars = Array.from(subject);
    const n = chars.length;
    let next = new Int32Array(n + 1);
    for (let p = 0; p <= n; p++) next[p] = p; // past the last token: the match ends here
    for (let ti = this.toks.length - 1; ti >= 0; ti--) {
      const t = this.toks[ti]!;
      const cur = new Int32Array(n + 1);
      for (let p = n; p >= 0; p--) {
        const c = p < n ? chars[p] : undefined;
        if (t.k === 'lit') cur[p] = c === t.c ? next[p + 1]! : -1;
        else if (t.k === 'any') cur[p] = c !== undefined && c !== '\n' ? next[p + 1]! : -1;
        else {
          const ext = c !== undefined && c !== '\n' ? cur[p + 1]! : -1; // one more character for the star
          const stop = next[p]!; // the star ends here
          cur[p] = this.greedy ? (ext >= 0 ? ext : stop) : stop >= 0 ? stop : ext;
        }
      }
      next = cur;
    }
    const ends = next;
    return {
      chars,
      matchAt: (start) => ends[start]!,
      find: (from) => {
        for (let st = from; st <= n; st++) if (ends[st]! >= 0) return [st, ends[st]!];
        return undefined;
      },
    };
  }
}

/** `${VAR/p/r}` and `${VAR//p/r}` with Go's ReplaceAllString rules for the `//` form. */
function replacePattern(value: string, pattern: string, replacement: string, all: boolean): string {
  const m = new Glob(pattern, true).on(value);
  const chars = m.chars;
  if (!all) {
    const hit = m.find(0);
    if (!hit) return value;
    return chars.slice(0, hit[0]).join('') + replacement + chars.slice(hit[1]).join('');
  }
  let out = '';
  let lastEnd = 0;
  let search = 0;
  while (search <= chars.length) {
    const hit = m.find(search);
    if (!hit) break;
    const [a, b] = hit;
    out += chars.slice(lastEnd, a).join('');
    // no replacement for an empty match right after the previous match
    if (b > lastEnd || a === 0) out = checkLength(out + goExpand(replacement, chars.slice(a, b).join('')));
    lastEnd = b;
    search = search + 1 > b ? search + 1 : b;
  }
  return out + chars.slice(lastEnd).join('');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = new Glob(pattern, greedy).on(value);
  const end = m.matchAt(0);
  return end >= 0 ? m.chars.slice(end).join('') : value;
}

function reversePattern(pattern: string): string {
  const p = Array.from(pattern);
  const out: string[] = new Array(p.length);
  const last = p.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = p[i]!;
    const o = last - i;
    if (tok === '\\' && i !== last) {
      out[o - 1] = tok;
      out[o] = p[i + 1]!;
      i += 2;
    } else {
      out[o] = tok;
      i++;
    }
  }
  return out.join('');
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}
