/**
 * The Dockerfile parser: raw text in, BuildKit-equivalent syntax tree out.
 *
 * In: the Dockerfile text (UTF-8 BOM and CRLF allowed) and an optional file name for messages.
 * Out: `AstResult` — parser directives (`syntax`, `escape`, `check`), one `AstNode` per
 * instruction with BuildKit's argument shaping (JSON vs shell form with BuildKit's fallback for
 * invalid JSON, `--flags` up to `--`, ENV/LABEL key-value forms, ONBUILD sub-instructions),
 * heredoc bodies, and 1-based positions. Line continuations follow BuildKit exactly: comment and
 * empty lines inside a continuation are skipped, a continuation at EOF ends the instruction.
 * Unknown instructions are kept here (BuildKit's parser ignores them too); the typed layer
 * (`instructions.ts`) rejects them. Errors are `UserError`s positioned `FILE:LINE:COL`.
 */
import { UserError } from '../util/errors.js';
import { MAX_DOCKERFILE_SIZE, tooLargeMessage } from '../util/limits.js';
import type { AstArg, AstNode, AstResult, Directive, Heredoc, Pos } from './ast.js';
import { goQuote, isSpace, oneLine, trimLeftSpace, trimSpace } from './gostr.js';
import { ShellLex } from './shell.js';

const reWhitespace = /[\t\v\f\r ]+/;
// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` in BuildKit; the value part is trimmed by hand
// (a lazy group before `\s*$` is quadratic in a backtracking engine).
const reDirective = /^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=([^\n]*)$/;
const isGoRegexpSpace = (c: string) => c === '\t' || c === '\n' || c === '\f' || c === '\r' || c === ' ';

function directiveValue(rest: string): string | undefined {
  if (rest === '') return undefined;
  let a = 0;
  let b = rest.length;
  while (a < b && isGoRegexpSpace(rest[a]!)) a++;
  while (b > a && isGoRegexpSpace(rest[b - 1]!)) b--;
  // all blanks: `\s*` gives one back so that `(.+?)` matches a single character
  return a === b ? rest[rest.length - 1] : rest.slice(a, b);
}
const reHeredoc = /^(\d*)<<(-?)([^<]*)$/;
const validDirectives = new Set(['syntax', 'escape', 'check']);
const heredocInstructions = new Set(['add', 'copy', 'run']);

export const ERR_NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

/** An error inside one instruction's text, before we know its position. */
class LineError extends Error {}

interface Directives {
  escape: '\\' | '`';
  cont: RegExp;
  done: boolean;
  seen: Set<string>;
  list: Directive[];
}

function continuationRegex(esc: string): RegExp {
  const e = esc === '\\' ? '\\\\' : '`';
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

function setEscape(d: Directives, v: string): void {
  if (v !== '`' && v !== '\\') throw new LineError(`invalid escape token '${v}' does not match \` or \\`);
  d.escape = v;
  d.cont = continuationRegex(v);
}

/** Returns true when `line` was a parser directive. */
function possibleDirective(d: Directives, line: string, pos: Pos): boolean {
  if (d.done) return false;
  const m = reDirective.exec(line);
  const value = m ? directiveValue(m[2]!) : undefined;
  if (!m || value === undefined) {
    d.done = true;
    return false;
  }
  const k = m[1]!.toLowerCase();
  if (!validDirectives.has(k)) {
    d.done = true;
    return false;
  }
  if (d.seen.has(k)) throw new LineError(`only one ${k} parser directive can be used`);
  d.seen.add(k);
  if (k === 'escape') setEscape(d, value);
  d.list.push({ name: k, value, pos });
  return true;
}

function trimNewline(s: string): string {
  let e = s.length;
  while (e > 0 && (s[e - 1] === '\n' || s[e - 1] === '\r')) e--;
  return s.slice(0, e);
}

function isComment(raw: string): boolean {
  return trimLeftSpace(trimNewline(raw)).startsWith('#');
}

function trimContinuation(line: string, d: Directives): [string, boolean] {
  if (d.cont.test(line)) return [line.replace(d.cont, '$1'), false];
  return [line, true];
}

/** BuildKit's parseWords: splits on whitespace, keeping quotes and escapes in the words. */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  let phase = IN_SPACES;
  let quote = '';
  let blankOK = false;
  let word = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = pos < chars.length ? chars[pos]! : '';
    if (phase === IN_SPACES) {
      if (pos === chars.length) break;
      if (isSpace(ch)) continue;
      phase = IN_WORD;
    }
    if ((phase === IN_WORD || phase === IN_QUOTE) && pos === chars.length) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === IN_WORD) {
      if (isSpace(ch)) {
        phase = IN_SPACES;
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        pos++;
        ch = chars[pos]!;
      }
      word += ch;
      continue;
    }
    if (phase === IN_QUOTE) {
      if (ch === quote) phase = IN_WORD;
      if (ch === escape && quote !== "'") {
        if (pos + 1 === chars.length) {
          phase = IN_WORD;
          continue;
        }
        pos++;
        word += ch;
        ch = chars[pos]!;
      }
      word += ch;
    }
  }
  return words;
}

/** BuildKit's extractBuilderFlags: leading `--flag[=value]` words, up to `--`. */
export function extractBuilderFlags(line: string): [string, string[]] {
  const words: string[] = [];
  const chars = Array.from(line);
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  let phase = IN_SPACES;
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = pos < chars.length ? chars[pos]! : '';
    if (phase === IN_SPACES) {
      if (pos === chars.length) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || pos + 1 === chars.length || chars[pos + 1] !== '-') return [chars.slice(pos).join(''), words];
      phase = IN_WORD;
    }
    if ((phase === IN_WORD || phase === IN_QUOTE) && pos === chars.length) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (phase === IN_WORD) {
      if (isSpace(ch)) {
        phase = IN_SPACES;
        if (word === '--') return [chars.slice(pos).join(''), words];
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === chars.length) continue;
        pos++;
        ch = chars[pos]!;
      }
      word += ch;
      continue;
    }
    if (phase === IN_QUOTE) {
      if (ch === quote) {
        phase = IN_WORD;
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === chars.length) {
          phase = IN_WORD;
          continue;
        }
        pos++;
        ch = chars[pos]!;
      }
      word += ch;
    }
  }
  return ['', words];
}

function splitWhitespace(rest: string): AstArg[] {
  if (rest === '') return [];
  return rest.split(reWhitespace).map((value) => ({ value }));
}

type JsonResult = { ok: true; args: AstArg[] } | { ok: false };

function parseJSON(rest: string): JsonResult {
  const r = trimLeftSpace(rest);
  if (!r.startsWith('[')) return { ok: false };
  let v: unknown;
  try {
    v = JSON.parse(r);
  } catch {
    return { ok: false };
  }
  if (!Array.isArray(v)) return { ok: false };
  const args: AstArg[] = [];
  for (const x of v) {
    if (typeof x !== 'string') throw new LineError(ERR_NOT_STRING_ARRAY);
    args.push({ value: x });
  }
  return { ok: true, args };
}

interface LineParse {
  args: AstArg[];
  json?: boolean;
}

function parseMaybeJSON(rest: string): LineParse {
  if (rest === '') return { args: [] };
  const j = parseJSON(rest);
  if (j.ok) return { args: j.args, json: true };
  return { args: [{ value: rest }] };
}

function parseMaybeJSONToList(rest: string): LineParse {
  const j = parseJSON(rest);
  if (j.ok) return { args: j.args, json: true };
  return { args: splitWhitespace(rest) };
}

function parseNameVal(rest: string, key: string, d: Directives): LineParse {
  const words = parseWords(rest, d.escape);
  if (words.length === 0) return { args: [] };
  if (!words[0]!.includes('=')) {
    const m = reWhitespace.exec(rest);
    if (!m) throw new LineError(`${key} must have two arguments`);
    return { args: [{ value: rest.slice(0, m.index) }, { value: rest.slice(m.index + m[0].length) }, { value: '' }] };
  }
  const args: AstArg[] = [];
  for (const w of words) {
    const i = w.indexOf('=');
    if (i < 0) throw new LineError(`Syntax error - can't find = in ${goQuote(w)}. Must be of the form: name=value`);
    args.push({ value: w.slice(0, i) }, { value: w.slice(i + 1) }, { value: '=' });
  }
  return { args };
}

function parseHealthConfig(rest: string): LineParse {
  let sep = 0;
  while (sep < rest.length && !isSpace(rest[sep]!)) sep++;
  let next = sep;
  while (next < rest.length && isSpace(rest[next]!)) next++;
  if (sep === 0) return { args: [] };
  const cmd = parseMaybeJSON(rest.slice(next));
  return { args: [{ value: rest.slice(0, sep) }, ...cmd.args], json: cmd.json };
}

function dispatch(cmd: string, rest: string, d: Directives): LineParse {
  switch (cmd.toLowerCase()) {
    case 'add':
    case 'copy':
    case 'volume':
      return parseMaybeJSONToList(rest);
    case 'arg':
      return { args: parseWords(rest, d.escape).map((value) => ({ value })) };
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      return parseMaybeJSON(rest);
    case 'env':
      return parseNameVal(rest, 'ENV', d);
    case 'label':
      return parseNameVal(rest, 'LABEL', d);
    case 'expose':
    case 'from':
      return { args: splitWhitespace(rest) };
    case 'healthcheck':
      return parseHealthConfig(rest);
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return rest === '' ? { args: [] } : { args: [{ value: rest }] };
    case 'onbuild': {
      if (rest === '') return { args: [] };
      const child = nodeFromLine(rest, d, [], { line: 0, col: 0 });
      return { args: [{ child }] };
    }
    default:
      // BuildKit's parser ignores unknown instructions (one empty argument); the typed layer rejects them.
      return { args: [{ value: '' }] };
  }
}

function nodeFromLine(line: string, d: Directives, comments: string[], pos: Pos): AstNode {
  const trimmed = trimSpace(line);
  const m = reWhitespace.exec(trimmed);
  const cmd = m ? trimmed.slice(0, m.index) : trimmed;
  let flags: string[] = [];
  let rest = '';
  if (m) {
    [rest, flags] = extractBuilderFlags(trimmed.slice(m.index + m[0].length));
    rest = trimSpace(rest);
  }
  const r = dispatch(cmd, rest, d);
  return {
    value: cmd,
    args: r.args,
    flags,
    attributes: r.json ? { json: true } : {},
    original: line,
    heredocs: [],
    pos,
    endLine: pos.line,
    comments,
  };
}

function canContainHeredoc(n: AstNode): boolean {
  let node = n;
  if (node.value.toLowerCase() === 'onbuild' && node.args[0]?.child) node = node.args[0].child;
  if (!heredocInstructions.has(node.value.toLowerCase())) return false;
  return !node.attributes.json;
}

/** Parses a heredoc redirection word (`<<EOF`, `<<-"EOF"`, `3<<EOF`); undefined when it is not one. */
export function parseHeredocWord(word: string): Heredoc | undefined {
  const m = reHeredoc.exec(word);
  if (!m) return undefined;
  const rest = m[3]!;
  if (rest.length === 0) return undefined;
  const lex = new ShellLex('\\', { skipUnsetEnv: true });
  const words = lex.processWords(rest, {});
  if (words.length !== 1) return undefined;
  lex.rawQuotes = true;
  const raw = lex.processWords(rest, {});
  if (raw.length !== words.length) throw new LineError(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  const count = (s: string) => (s.match(/['"]/g) ?? []).length;
  const word0 = words[0]!;
  return {
    name: word0,
    fd: m[1] ? Number.parseInt(m[1], 10) : 0,
    expand: count(word0) === count(raw[0]!),
    chomp: m[2] === '-',
    content: '',
  };
}

function heredocsFromLine(line: string): Heredoc[] {
  const lex = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  let words: string[];
  try {
    words = lex.processWords(line, {});
  } catch {
    words = [];
  }
  const docs: Heredoc[] = [];
  for (const w of words) {
    const h = parseHeredocWord(w);
    if (h) docs.push(h);
  }
  return docs;
}

/** Removes leading tabs from every line (the `<<-` form). */
export function chompHeredocContent(s: string): string {
  return s.replace(/^\t+/gm, '');
}

function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const i = text.indexOf('\n', start);
    if (i < 0) {
      if (start < text.length) lines.push(text.slice(start));
      break;
    }
    lines.push(text.slice(start, i + 1));
    start = i + 1;
  }
  return lines;
}

function leadingSpaceCols(s: string): number {
  let n = 0;
  for (const ch of s) {
    if (!isSpace(ch)) break;
    n++;
  }
  return n;
}

export interface ParseAstOptions {
  file?: string;
}

/** Parses Dockerfile text into BuildKit's syntax tree. Throws `UserError` with a position. */
export function parseAst(text: string, opts: ParseAstOptions = {}): AstResult & { lines: string[] } {
  const file = opts.file;
  // a caller that read the text itself (stdin, an engine) gets BuildKit's bound too
  if (text.length > MAX_DOCKERFILE_SIZE) throw new UserError(tooLargeMessage(file ?? 'Dockerfile'));
  const d: Directives = { escape: '\\', cont: continuationRegex('\\'), done: false, seen: new Set(), list: [] };
  const lines = splitLines(text);
  if (lines.length > 0 && lines[0]!.startsWith('\ufeff')) lines[0] = lines[0]!.slice(1);
  const fail = (msg: string, line: number, col = 1): never => {
    throw new UserError(oneLine(msg), { pos: { file, line: Math.max(1, line), col: Math.max(1, col) } });
  };
  const nodes: AstNode[] = [];
  const warnings: string[] = [];
  let comments: string[] = [];
  let li = 0;
  let currentLine = 0;

  const processLine = (raw: string, stripLeft: boolean, lineNo: number): string => {
    let tok = trimNewline(raw);
    if (stripLeft) tok = trimLeftSpace(tok);
    try {
      // a directive is not a comment of the next instruction
      if (possibleDirective(d, tok, { line: lineNo, col: 1 + leadingSpaceCols(raw) })) comments.pop();
    } catch (e) {
      if (e instanceof LineError) fail(e.message, lineNo, 1 + leadingSpaceCols(raw));
      throw e;
    }
    return tok.startsWith('#') ? '' : tok;
  };

  while (li < lines.length) {
    const raw = lines[li++]!;
    if (isComment(raw)) {
      const c = trimSpace(trimLeftSpace(trimNewline(raw)).slice(1));
      if (c === '') comments = [];
      else comments.push(c);
    }
    const bytes = processLine(raw, true, currentLine + 1);
    currentLine++;
    const startLine = currentLine;
    const col = 1 + leadingSpaceCols(raw);
    let [line, eol] = trimContinuation(bytes, d);
    if (eol && line === '') continue;

    let hasEmptyContinuation = false;
    while (!eol && li < lines.length) {
      const rawc = lines[li++]!;
      const b = processLine(rawc, false, currentLine + 1);
      currentLine++;
      if (isComment(rawc)) continue;
      if (trimLeftSpace(trimNewline(b)).length === 0) {
        hasEmptyContinuation = true;
        continue;
      }
      let cl: string;
      [cl, eol] = trimContinuation(b, d);
      line += cl;
    }
    if (hasEmptyContinuation) warnings.push(`${file ?? '<stdin>'}:${startLine}: empty continuation line found in: ${line}`);

    let node: AstNode;
    try {
      node = nodeFromLine(line, d, comments, { line: startLine, col });
      if (node.args[0]?.child) {
        const child = node.args[0].child;
        const kw = /^[^\t\v\f\r ]+[\t\v\f\r ]+/.exec(trimSpace(line));
        child.pos = { line: startLine, col: col + (kw ? Array.from(kw[0]).length : 0) };
      }
      if (canContainHeredoc(node) && line.includes('<<')) {
        for (const h of heredocsFromLine(line)) {
          let terminated = false;
          while (li < lines.length) {
            const hr = lines[li++]!;
            currentLine++;
            let t = trimNewline(hr);
            if (h.chomp) t = t.replace(/^\t+/, '');
            if (t === h.name) {
              terminated = true;
              break;
            }
            h.content += hr;
          }
          if (!terminated) throw new LineError('unterminated heredoc');
          node.heredocs.push(h);
        }
      }
    } catch (e) {
      if (e instanceof LineError || e instanceof UserError) return fail(e.message, startLine, col);
      throw e;
    }
    node.endLine = currentLine;
    if (node.args[0]?.child) {
      node.args[0].child.endLine = currentLine;
      node.args[0].child.heredocs = node.heredocs;
    }
    nodes.push(node);
    comments = [];
  }
  if (nodes.length === 0) fail('file with no instructions', currentLine, 1);
  return { file, directives: d.list, escapeChar: d.escape, nodes, warnings, lines };
}
