/**
 * Go's text/template as the docker CLI uses it for `--format`, plus the docker CLI's formatter
 * (formatter.Context: the `table` and `json` keys, `\t`/`\n` escapes, header row, tabwriter).
 *
 * Supported: text and `{{pipeline}}` actions with `{{-`/`-}}` trimming and `{{/* comments *\/}}`;
 * operands `.`, `.Field.Chain`, `$`, `$var.Field`, string/raw-string/char/number/bool/nil literals,
 * `(pipeline).Field`; pipelines `a | f b`; `$x := …`, `$x = …`; `if`/`else if`/`else`, `range`
 * (`$i, $e :=`, `else`, `break`, `continue`), `with`/`else`; Go's builtins (and or not len index
 * slice eq ne lt le gt ge print printf println html js urlquery) and docker's (json split join title
 * lower upper pad truncate). Error messages are Go's, byte for byte where docker users see them:
 * `template: :1: unclosed action`, `template: :1:2: executing "" at <.Foo>: can't evaluate field
 * Foo in type *formatter.imageContext`.
 *
 * Values: JS strings, numbers (integral = Go int, else float64), booleans, arrays (Go slices),
 * plain objects (Go maps: missing key = `<no value>`), `GoStruct` (a docker formatter context:
 * a missing field is an error; function fields are methods taking arguments), `GoNil` (a typed
 * nil: prints `[]`, `map[]` or `<nil>`, encodes as JSON `null`), `GoTime` (a time.Time),
 * `undefined` (no value).
 * Not supported: `define`/`template`/`block` (a parse error) and `call`; a plain object prints as
 * a Go map (`map[k:v]`) where docker's typed struct would print `{v …}` (`{{.Config}}`).
 */
import { goQuote } from './goquote.js';
import { UserError } from './errors.js';
import { tabwrite } from './tabwriter.js';

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** A docker formatter context (a Go struct): fields are values, or methods when functions. */
export class GoStruct {
  constructor(
    readonly type: string,
    readonly fields: Record<string, unknown>,
  ) {}
  toJSON(): Record<string, unknown> {
    // docker's formatter.MarshalJSON: every method without arguments, keys sorted
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(this.fields).sort()) if (typeof this.fields[k] !== 'function') o[k] = this.fields[k];
    return o;
  }
}

/**
 * A Go time.Time from an RFC 3339 UTC string (docker's `Metadata.LastTagTime`): prints as
 * Time.String() (`2026-12-06 03:23:31.0044 +0000 UTC`, trailing zeros cut), encodes as the string.
 */
export class GoTime {
  constructor(readonly iso: string) {}
  toJSON(): string {
    return this.iso;
  }
  toString(): string {
    const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(this.iso);
    if (!m) return this.iso;
    const frac = (m[3] ?? '').replace(/0+$/, '');
    return `${m[1]} ${m[2]}${frac ? `.${frac}` : ''} +0000 UTC`;
  }
}

/** A typed Go nil: a nil slice prints `[]`, a nil map `map[]`, a nil pointer `<nil>`; JSON null. */
export class GoNil {
  constructor(readonly kind: 'slice' | 'map' | 'ptr') {}
  toJSON(): null {
    return null;
  }
}

// ---- lexer ---------------------------------------------------------------------------------------

type ItemType =
  | 'text' | 'left' | 'right' | 'space' | 'field' | 'dot' | 'variable' | 'identifier' | 'keyword' | 'string'
  | 'rawString' | 'charConstant' | 'number' | 'bool' | 'nil' | 'pipe' | 'leftParen' | 'rightParen'
  | 'declare' | 'assign' | 'char' | 'eof' | 'error';

interface Item {
  typ: ItemType;
  pos: number;
  val: string;
  line: number;
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

function itemString(i: Item): string {
  switch (i.typ) {
    case 'eof':
      return 'EOF';
    case 'error':
      return i.val;
    case 'keyword':
      return `<${i.val}>`;
    default:
      return i.val.length > 10 && i.typ !== 'char' ? `${JSON.stringify(i.val.slice(0, 10))}...` : JSON.stringify(i.val);
  }
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string): boolean => c === '_' || /^[\p{L}\p{Nd}]$/u.test(c);

function lex(input: string): Item[] {
  const items: Item[] = [];
  const lineAt = (p: number): number => 1 + (input.slice(0, p).match(/\n/g) ?? []).length;
  let pos = 0;
  let start = 0;
  let parenDepth = 0;
  const push = (typ: ItemType, from: number, to: number): void => {
    items.push({ typ, pos: from, val: input.slice(from, to), line: lineAt(from) });
  };
  const emit = (typ: ItemType): void => {
    push(typ, start, pos);
    start = pos;
  };
  const fail = (msg: string): Item[] => {
    items.push({ typ: 'error', pos: start, val: msg, line: lineAt(start) });
    return items;
  };
  const peek = (): string => input[pos] ?? '';
  const next = (): string => {
    const c = input[pos] ?? '';
    if (c !== '') pos++;
    return c;
  };
  const skipSpace = (): void => {
    while (isSpace(peek())) pos++;
  };
  /** at `}}`, or at ` -}}` (a trim marker) */
  const atRightDelim = (): { yes: boolean; trim: boolean } => {
    if (isSpace(peek()) && input[pos + 1] === '-' && input.startsWith('}}', pos + 2)) return { yes: true, trim: true };
    return { yes: input.startsWith('}}', pos), trim: false };
  };
  const atTerminator = (): boolean => {
    const r = peek();
    return r === '' || isSpace(r) || '.,|:)('.includes(r) || input.startsWith('}}', pos);
  };
  const scanNumber = (): boolean => {
    if (peek() === '+' || peek() === '-') next();
    let digits = '0123456789_';
    if (peek() === '0' && /[xXoObB]/.test(input[pos + 1] ?? '')) {
      next();
      const b = next().toLowerCase();
      digits = b === 'x' ? '0123456789abcdefABCDEF_' : b === 'o' ? '01234567_' : '01_';
    }
    const run = (): void => {
      while (peek() !== '' && digits.includes(peek())) next();
    };
    run();
    if (peek() === '.') {
      next();
      run();
    }
    if (digits.length === 11 && (peek() === 'e' || peek() === 'E')) {
      next();
      if (peek() === '+' || peek() === '-') next();
      while (/[0-9_]/.test(peek())) next();
    }
    if (isAlnum(peek())) {
      next();
      return false;
    }
    return true;
  };

  for (;;) {
    // text up to the next "{{", trimmed before a "{{- "
    const at = input.indexOf('{{', pos);
    if (at < 0) {
      if (input.length > start) push('text', start, input.length);
      items.push({ typ: 'eof', pos: input.length, val: '', line: lineAt(input.length) });
      return items;
    }
    const trimLeft = input[at + 2] === '-' && isSpace(input[at + 3] ?? '');
    let textEnd = at;
    if (trimLeft) while (textEnd > start && isSpace(input[textEnd - 1]!)) textEnd--;
    if (textEnd > start) push('text', start, textEnd);
    start = at;
    pos = at + 2 + (trimLeft ? 2 : 0);
    if (input.startsWith('/*', pos)) {
      const end = input.indexOf('*/', pos + 2);
      if (end < 0) return fail('unclosed comment');
      pos = end + 2;
      const r = atRightDelim();
      if (!r.yes) return fail('comment ends before closing delimiter');
      pos += r.trim ? 4 : 2;
      if (r.trim) skipSpace();
      start = pos;
      continue;
    }
    push('left', at, at + 2);
    start = pos;
    parenDepth = 0;
    for (;;) {
      const rd = atRightDelim();
      if (rd.yes) {
        if (parenDepth > 0) return fail('unclosed left paren');
        if (rd.trim) pos += 2;
        start = pos;
        pos += 2;
        emit('right');
        if (rd.trim) skipSpace();
        start = pos;
        break;
      }
      const c = next();
      if (c === '') return fail('unclosed action');
      if (isSpace(c)) {
        while (isSpace(peek()) && !atRightDelim().yes) next();
        emit('space');
      } else if (c === '=') {
        emit('assign');
      } else if (c === ':') {
        if (next() !== '=') return fail('expected :=');
        emit('declare');
      } else if (c === '|') {
        emit('pipe');
      } else if (c === '"' || c === "'") {
        for (;;) {
          const d = next();
          if (d === '\\') {
            const e = next();
            if (e !== '' && e !== '\n') continue;
          }
          if (d === '' || d === '\n') return fail(c === '"' ? 'unterminated quoted string' : 'unterminated character constant');
          if (d === c) break;
        }
        emit(c === '"' ? 'string' : 'charConstant');
      } else if (c === '`') {
        for (;;) {
          const d = next();
          if (d === '') return fail('unterminated raw quoted string');
          if (d === '`') break;
        }
        emit('rawString');
      } else if (c === '$' || (c === '.' && !/[0-9]/.test(peek()))) {
        while (isAlnum(peek())) next();
        if (!atTerminator()) return fail(`bad character ${goRune(peek())}`);
        emit(c === '$' ? 'variable' : pos - start === 1 ? 'dot' : 'field');
      } else if (c === '.' || c === '+' || c === '-' || /[0-9]/.test(c)) {
        pos--;
        if (!scanNumber()) return fail(`bad number syntax: ${JSON.stringify(input.slice(start, pos))}`);
        emit('number');
      } else if (isAlnum(c)) {
        while (isAlnum(peek())) next();
        if (!atTerminator()) return fail(`bad character ${goRune(peek())}`);
        const word = input.slice(start, pos);
        emit(KEYWORDS.has(word) ? 'keyword' : word === 'true' || word === 'false' ? 'bool' : word === 'nil' ? 'nil' : 'identifier');
      } else if (c === '(') {
        parenDepth++;
        emit('leftParen');
      } else if (c === ')') {
        parenDepth--;
        if (parenDepth < 0) return fail('unexpected right paren');
        emit('rightParen');
      } else if (c.charCodeAt(0) < 0x80 && c >= ' ') {
        emit('char');
      } else {
        return fail(`unrecognized character in action: ${goRune(c)}`);
      }
    }
  }
}

function goRune(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

// ---- parse tree ----------------------------------------------------------------------------------

type Node =
  | { t: 'text'; pos: number; text: string }
  | { t: 'action'; pos: number; line: number; pipe: PipeNode }
  | { t: 'if' | 'with'; pos: number; line: number; pipe: PipeNode; list: Node[]; elseList?: Node[] }
  | { t: 'range'; pos: number; line: number; pipe: PipeNode; list: Node[]; elseList?: Node[] }
  | { t: 'break' | 'continue'; pos: number; line: number };

interface PipeNode {
  pos: number;
  decl: string[];
  isAssign: boolean;
  cmds: CommandNode[];
}

interface CommandNode {
  pos: number;
  args: Arg[];
}

type Arg =
  | { t: 'field'; pos: number; ident: string[] }
  | { t: 'variable'; pos: number; ident: string[] }
  | { t: 'dot'; pos: number }
  | { t: 'nil'; pos: number }
  | { t: 'bool'; pos: number; value: boolean }
  | { t: 'number'; pos: number; value: number; text: string }
  | { t: 'string'; pos: number; value: string; text: string }
  | { t: 'identifier'; pos: number; name: string }
  | { t: 'pipe'; pos: number; pipe: PipeNode }
  | { t: 'chain'; pos: number; node: Arg; field: string[] };

function pipeString(p: PipeNode): string {
  const decl = p.decl.length ? `${p.decl.join(', ')} ${p.isAssign ? '=' : ':='} ` : '';
  return decl + p.cmds.map(cmdString).join(' | ');
}
function cmdString(c: CommandNode): string {
  return c.args.map((a) => (a.t === 'pipe' ? `(${argString(a)})` : argString(a))).join(' ');
}
function argString(a: Arg): string {
  switch (a.t) {
    case 'field':
      return `.${a.ident.join('.')}`;
    case 'variable':
      return a.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(a.value);
    case 'number':
    case 'string':
      return a.text;
    case 'identifier':
      return a.name;
    case 'pipe':
      return pipeString(a.pipe);
    case 'chain':
      return `${a.node.t === 'pipe' ? `(${argString(a.node)})` : argString(a.node)}.${a.field.join('.')}`;
  }
}

interface Template {
  src: string;
  root: Node[];
}

/**
 * How deep `if`/`range`/`with`, `else if` chains and parenthesized pipelines may nest. Go's own
 * parser recurses on a growable stack; ours would overflow Node's, so a deeper template is a
 * parse error (in the words of Go's exec limit) instead. Docker's formats nest a few levels.
 */
export const MAX_TEMPLATE_DEPTH = 1000;

class Parser {
  private i = 0;
  private depth = 0;
  /** variables in scope (Go's t.vars): popped at the end of each control structure */
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;
  constructor(private readonly items: Item[]) {}

  private next(): Item {
    return this.items[this.i++] ?? this.items[this.items.length - 1]!;
  }
  private backup(n = 1): void {
    this.i -= n;
  }
  private peek(): Item {
    return this.items[this.i] ?? this.items[this.items.length - 1]!;
  }
  private nextNonSpace(): Item {
    let t = this.next();
    while (t.typ === 'space') t = this.next();
    return t;
  }
  private peekNonSpace(): Item {
    const save = this.i;
    const t = this.nextNonSpace();
    this.i = save;
    return t;
  }
  /** the line of the last token read, as Go's errorf reports it */
  private lastLine(): number {
    return (this.items[Math.max(0, this.i - 1)] ?? this.peek()).line;
  }
  fail(msg: string, line = this.lastLine()): never {
    throw new TemplateError(`template: :${line}: ${msg}`);
  }
  private unexpected(t: Item, context: string): never {
    if (t.typ === 'error') {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at :${this.actionLine}`;
        if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.fail(`${t.val}${extra}`, t.line);
    }
    this.fail(`unexpected ${itemString(t)} in ${context}`, t.line);
  }
  private expect(context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== 'right') this.unexpected(t, context);
    return t;
  }

  parse(): Node[] {
    const list: Node[] = [];
    while (this.peek().typ !== 'eof') {
      const n = this.textOrAction();
      if (n === 'end' || n === 'else') this.fail(`unexpected {{${n}}}`);
      list.push(n);
    }
    return list;
  }

  /** a list up to {{end}} or {{else}} (Go's itemList) */
  private itemList(): { list: Node[]; next: 'end' | 'else' } {
    const list: Node[] = [];
    while (this.peekNonSpace().typ !== 'eof') {
      const n = this.textOrAction();
      if (n === 'end' || n === 'else') return { list, next: n };
      list.push(n);
    }
    this.fail('unexpected EOF');
  }

  private textOrAction(): Node | 'end' | 'else' {
    const t = this.nextNonSpace();
    if (t.typ === 'text') return { t: 'text', pos: t.pos, text: t.val };
    if (t.typ !== 'left') this.unexpected(t, 'input');
    this.actionLine = t.line;
    try {
      return this.action();
    } finally {
      this.actionLine = 0;
    }
  }

  private action(): Node | 'end' | 'else' {
    const t = this.nextNonSpace();
    if (t.typ === 'keyword') {
      switch (t.val) {
        case 'end':
          this.expect('end');
          return 'end';
        case 'else': {
          // {{else if …}} / {{else with …}}: the if/with is left for the enclosing control
          const nx = this.peekNonSpace();
          if (!(nx.typ === 'keyword' && (nx.val === 'if' || nx.val === 'with'))) this.expect('else');
          return 'else';
        }
        case 'if':
        case 'with':
        case 'range':
          return this.control(t.val, t.line);
        case 'break':
        case 'continue':
          this.expect(`{{${t.val}}}`);
          if (this.rangeDepth === 0) this.fail(`{{${t.val}}} outside {{range}}`);
          return { t: t.val, pos: t.pos, line: t.line };
        default:
          this.fail(`{{${t.val}}} is not supported here`);
      }
    }
    this.backup();
    const tok = this.peek();
    return { t: 'action', pos: tok.pos, line: tok.line, pipe: this.pipeline('command', 'right') };
  }

  /** Runs `f` one nesting level deeper, refusing more than MAX_TEMPLATE_DEPTH levels. */
  private nested<T>(f: () => T): T {
    if (this.depth >= MAX_TEMPLATE_DEPTH) this.fail(`exceeded maximum template depth (${MAX_TEMPLATE_DEPTH})`);
    this.depth++;
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private control(kind: 'if' | 'with' | 'range', line: number): Node {
    return this.nested(() => this.controlBody(kind, line));
  }

  private controlBody(kind: 'if' | 'with' | 'range', line: number): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(kind, 'right');
    if (kind === 'range') this.rangeDepth++;
    const body = this.itemList();
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | undefined;
    if (body.next === 'else') {
      const nx = this.peekNonSpace();
      if (kind !== 'range' && nx.typ === 'keyword' && nx.val === kind) {
        // {{else if}} is {{else}}{{if}}…{{end}}{{end}} sharing one {{end}}
        this.nextNonSpace();
        elseList = [this.control(kind, nx.line)];
      } else {
        const e = this.itemList();
        if (e.next !== 'end') this.fail('expected end; found {{else}}');
        elseList = e.list;
      }
    }
    this.vars.length = mark;
    return { t: kind, pos: pipe.pos, line, pipe, list: body.list, elseList };
  }

  private pipeline(context: string, end: 'right' | 'rightParen'): PipeNode {
    const first = this.peekNonSpace();
    const pipe: PipeNode = { pos: first.pos, decl: [], isAssign: false, cmds: [] };
    // declarations: `$x :=`, `$x =`, in range `$i, $e :=`
    for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== 'variable') break;
      const save = this.i;
      this.nextNonSpace();
      const nx = this.peekNonSpace();
      if (nx.typ === 'declare' || nx.typ === 'assign') {
        this.nextNonSpace();
        pipe.isAssign = nx.typ === 'assign';
        pipe.decl.push(v.val);
        this.vars.push(v.val);
        break;
      }
      if (nx.typ === 'char' && nx.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(v.val);
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const k = this.peekNonSpace().typ;
          if (k === 'variable' || k === 'right' || k === 'rightParen') continue;
          this.fail('range can only initialize variables');
        }
        this.fail(`too many declarations in ${context}`);
      }
      this.i = save;
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.typ === end) {
        if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`);
        pipe.cmds.slice(1).forEach((c, k) => {
          if (['bool', 'dot', 'nil', 'number', 'string'].includes(c.args[0]!.t)) this.fail(`non executable command in pipeline stage ${k + 2}`);
        });
        return pipe;
      }
      if (['bool', 'charConstant', 'dot', 'field', 'identifier', 'number', 'nil', 'rawString', 'string', 'variable', 'leftParen'].includes(t.typ)) {
        this.backup();
        pipe.cmds.push(this.command());
        continue;
      }
      this.unexpected(t, context);
    }
  }

  private command(): CommandNode {
    const cmd: CommandNode = { pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const t = this.next();
      if (t.typ === 'space') continue;
      if (t.typ === 'right' || t.typ === 'rightParen') this.backup();
      else if (t.typ !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.fail('empty command');
    return cmd;
  }

  private operand(): Arg | undefined {
    const node = this.term();
    if (!node || this.peek().typ !== 'field') return node;
    const pos = this.peek().pos;
    const fields: string[] = [];
    while (this.peek().typ === 'field') fields.push(this.next().val.slice(1));
    if (node.t === 'field') return { t: 'field', pos, ident: [...node.ident, ...fields] };
    if (node.t === 'variable') return { t: 'variable', pos, ident: [...node.ident, ...fields] };
    if (['bool', 'string', 'number', 'nil', 'dot'].includes(node.t)) this.fail(`unexpected . after term ${JSON.stringify(argString(node))}`);
    return { t: 'chain', pos, node, field: fields };
  }

  private term(): Arg | undefined {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case 'identifier':
        if (!Object.prototype.hasOwnProperty.call(FUNCS, t.val)) this.fail(`function ${JSON.stringify(t.val)} not defined`);
        return { t: 'identifier', pos: t.pos, name: t.val };
      case 'dot':
        return { t: 'dot', pos: t.pos };
      case 'nil':
        return { t: 'nil', pos: t.pos };
      case 'variable':
        if (!this.vars.includes(t.val)) this.fail(`undefined variable ${JSON.stringify(t.val)}`);
        return { t: 'variable', pos: t.pos, ident: [t.val] };
      case 'field':
        return { t: 'field', pos: t.pos, ident: [t.val.slice(1)] };
      case 'bool':
        return { t: 'bool', pos: t.pos, value: t.val === 'true' };
      case 'charConstant':
      case 'number':
        return { t: 'number', pos: t.pos, value: parseNumber(t, this), text: t.val };
      case 'leftParen':
        return { t: 'pipe', pos: t.pos, pipe: this.nested(() => this.pipeline('parenthesized pipeline', 'rightParen')) };
      case 'string':
      case 'rawString':
        return { t: 'string', pos: t.pos, value: t.typ === 'rawString' ? t.val.slice(1, -1) : unquote(t.val), text: t.val };
      default:
        this.backup();
        return undefined;
    }
  }
}

function parseNumber(t: Item, p: Parser): number {
  if (t.typ === 'charConstant') return unquote(`"${t.val.slice(1, -1).replace(/"/g, '\\"')}"`).codePointAt(0) ?? 0;
  const txt = t.val.replace(/_/g, '');
  const neg = txt.startsWith('-');
  const body = txt.replace(/^[+-]/, '');
  let v: number;
  if (/^0[xX]/.test(body)) v = parseInt(body.slice(2), 16);
  else if (/^0[oO]/.test(body)) v = parseInt(body.slice(2), 8);
  else if (/^0[bB]/.test(body)) v = parseInt(body.slice(2), 2);
  else if (/^0[0-7]+$/.test(body)) v = parseInt(body, 8);
  else v = Number(body);
  if (!Number.isFinite(v)) p.fail(`illegal number syntax: ${JSON.stringify(t.val)}`, t.line);
  return neg ? -v : v;
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };

/** Go's strconv.Unquote for a double-quoted string. */
function unquote(q: string): string {
  const s = q.slice(1, -1);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[++i] ?? '';
    const hex = (n: number): number => {
      const v = parseInt(s.slice(i + 1, i + 1 + n), 16);
      i += n;
      return v;
    };
    if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
    else if (e === 'x') out += String.fromCharCode(hex(2));
    else if (e === 'u') out += String.fromCodePoint(hex(4));
    else if (e === 'U') out += String.fromCodePoint(hex(8));
    else if (/[0-7]/.test(e)) {
      out += String.fromCharCode(parseInt(s.slice(i, i + 3), 8));
      i += 2;
    } else out += e;
  }
  return out;
}

/** Parses `src` as a Go template; a syntax error throws TemplateError(`template: :LINE: …`). */
export function parseTemplate(src: string): Template {
  return { src, root: new Parser(lex(src)).parse() };
}

// ---- execution -----------------------------------------------------------------------------------

class ExecError extends Error {}
class BreakSignal {}
class ContinueSignal {}

export interface ExecOptions {
  /** docker's HeaderFunctions: json/split/join/title/lower/upper/truncate return their argument */
  header?: boolean;
  /** Go's missingkey=error (docker inspect's raw JSON): a missing map key is an error, not `<no value>` */
  missingKeyError?: boolean;
}

/** Go's reflect type name of a value, as its error messages print it. */
function typeName(v: unknown): string {
  if (v instanceof GoStruct) return v.type;
  if (v instanceof GoTime) return 'time.Time';
  if (v instanceof GoNil) return v.kind === 'slice' ? '[]string' : v.kind === 'map' ? 'map[string]string' : '*struct {}';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (v && typeof v === 'object') return 'map[string]interface {}';
  return 'interface {}';
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof GoStruct) && !(v instanceof GoNil) && !(v instanceof GoTime);

/** Go's truth: the zero value of its type is false. */
function truth(v: unknown): boolean {
  if (v === undefined || v === null || v instanceof GoNil) return false;
  if (typeof v === 'string') return v !== '';
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's %v of a float64 (strconv.FormatFloat(f, 'g', -1, 64): exponent form past 1e21 or under 1e-4). */
function goFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf';
  const [mant, e] = x.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 21) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(x);
}

/** fmt's %v. */
export function goPrint(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (v instanceof GoNil) return v.kind === 'slice' ? '[]' : v.kind === 'map' ? 'map[]' : '<nil>';
  if (v instanceof GoTime) return v.toString();
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFloat(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goPrint).join(' ')}]`;
  if (v instanceof GoStruct) return `{${Object.values(v.fields).filter((f) => typeof f !== 'function').map(goPrint).join(' ')}}`;
  if (isMap(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${goPrint(v[k])}`).join(' ')}]`;
  return String(v);
}

/**
 * docker's `json` function. A formatter context marshals through json.Marshal, which escapes
 * `<`, `>` and `&` (`"\u003cnone\u003e"`); other values are encoded without HTML escaping.
 */
export function goJson(v: unknown): string {
  if (v instanceof GoStruct) return JSON.stringify(v).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  return JSON.stringify(v === undefined ? null : v) ?? 'null';
}

type Literal = Extract<Arg, { t: 'bool' | 'number' | 'string' | 'nil' }>;
type ArgType = 'string' | 'int' | 'strings' | undefined;

class State {
  private node: { pos: number; str: string } = { pos: 0, str: '' };
  out = '';
  private vars: { name: string; value: unknown }[];
  constructor(
    private readonly tpl: Template,
    root: unknown,
    private readonly opts: ExecOptions,
  ) {
    this.vars = [{ name: '$', value: root }];
  }

  private at(pos: number, str: string): void {
    this.node = { pos, str };
  }

  fail(msg: string): never {
    const text = this.tpl.src.slice(0, this.node.pos);
    const nl = text.lastIndexOf('\n');
    const col = nl < 0 ? this.node.pos : this.node.pos - (nl + 1);
    const line = 1 + (text.match(/\n/g) ?? []).length;
    throw new ExecError(`template: :${line}:${col}: executing "" at <${this.node.str}>: ${msg}`);
  }

  walk(dot: unknown, list: Node[]): void {
    for (const n of list) {
      switch (n.t) {
        case 'text':
          this.out += n.text;
          break;
        case 'action': {
          const v = this.evalPipeline(dot, n.pipe);
          if (n.pipe.decl.length === 0) this.out += goPrint(v);
          break;
        }
        case 'if':
        case 'with': {
          const mark = this.vars.length;
          const v = this.evalPipeline(dot, n.pipe);
          if (truth(v)) this.walk(n.t === 'with' ? v : dot, n.list);
          else if (n.elseList) this.walk(dot, n.elseList);
          this.vars.length = mark;
          break;
        }
        case 'range':
          this.walkRange(dot, n);
          break;
        case 'break':
          throw new BreakSignal();
        case 'continue':
          throw new ContinueSignal();
      }
    }
  }

  private walkRange(dot: unknown, n: Extract<Node, { t: 'range' }>): void {
    const mark = this.vars.length;
    const val = this.evalPipeline(dot, n.pipe);
    const entries: [unknown, unknown][] = [];
    if (Array.isArray(val)) val.forEach((e, i) => entries.push([i, e]));
    else if (isMap(val)) for (const k of Object.keys(val).sort()) entries.push([k, val[k]]);
    else if (typeof val === 'number' && Number.isInteger(val)) for (let i = 0; i < val; i++) entries.push([i, i]);
    else if (!(val === undefined || (val instanceof GoNil && val.kind !== 'ptr'))) this.fail(`range can't iterate over ${goPrint(val)}`);
    // the pipeline pushed its variables (Go's setTopVar): the element on top, the index below it
    const decl = n.pipe.decl;
    const top = this.vars.length;
    const set = (name: string, v: unknown, fromTop: number): void => {
      if (n.pipe.isAssign) this.assign(name, v);
      else this.vars[top - fromTop]!.value = v;
    };
    try {
      for (const [k, e] of entries) {
        if (decl.length === 1) set(decl[0]!, e, 1);
        if (decl.length === 2) {
          set(decl[0]!, k, 2);
          set(decl[1]!, e, 1);
        }
        const inner = this.vars.length;
        try {
          this.walk(e, n.list);
        } catch (x) {
          if (!(x instanceof ContinueSignal)) throw x;
        } finally {
          this.vars.length = inner;
        }
      }
    } catch (x) {
      if (!(x instanceof BreakSignal)) throw x;
    }
    if (entries.length === 0 && n.elseList) this.walk(dot, n.elseList);
    this.vars.length = mark;
  }

  private assign(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.fail(`undefined variable: ${name}`);
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    this.fail(`undefined variable: ${name}`);
  }

  evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    this.at(pipe.pos, pipeString(pipe));
    let value: unknown;
    pipe.cmds.forEach((cmd, i) => {
      value = this.evalCommand(dot, cmd, i === 0 ? undefined : { v: value });
    });
    for (const d of pipe.decl) {
      if (pipe.isAssign) this.assign(d, value);
      else this.vars.push({ name: d, value });
    }
    return value;
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final?: { v: unknown }): unknown {
    const a0 = cmd.args[0]!;
    switch (a0.t) {
      case 'field':
        this.at(a0.pos, argString(a0));
        return this.evalFieldChain(dot, dot, a0.ident, cmd.args, final);
      case 'chain': {
        const recv = this.evalArg(dot, a0.node);
        this.at(a0.pos, argString(a0));
        return this.evalFieldChain(dot, recv, a0.field, cmd.args, final);
      }
      case 'identifier':
        return this.evalFunction(dot, a0, cmd, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, a0.pipe);
      case 'variable': {
        this.at(a0.pos, argString(a0));
        const v = this.varValue(a0.ident[0]!);
        if (a0.ident.length === 1) {
          this.notAFunction(cmd.args, final);
          return v;
        }
        return this.evalFieldChain(dot, v, a0.ident.slice(1), cmd.args, final);
      }
      case 'dot':
        this.at(a0.pos, '.');
        this.notAFunction(cmd.args, final);
        return dot;
      default:
        this.at(a0.pos, argString(a0));
        this.notAFunction(cmd.args, final);
        if (a0.t === 'nil') this.fail('nil is not a command');
        return a0.value;
    }
  }

  private notAFunction(args: Arg[], final?: { v: unknown }): void {
    if (args.length > 1 || final) this.fail(`can't give argument to non-function ${argString(args[0]!)}`);
  }

  private evalFieldChain(dot: unknown, recv: unknown, ident: string[], args: Arg[], final?: { v: unknown }): unknown {
    let v = recv;
    for (let i = 0; i < ident.length - 1; i++) v = this.evalField(dot, ident[i]!, v, [], undefined);
    return this.evalField(dot, ident[ident.length - 1]!, v, args, final);
  }

  private evalField(dot: unknown, name: string, recv: unknown, args: Arg[], final: { v: unknown } | undefined): unknown {
    const nargs = Math.max(0, args.length - 1) + (final ? 1 : 0);
    if (recv === undefined) {
      if (this.opts.missingKeyError) this.fail(`nil data; no entry for key ${JSON.stringify(name)}`);
      return undefined;
    }
    if (recv === null) this.fail(`nil pointer evaluating interface {}.${name}`);
    if (recv instanceof GoStruct && name in recv.fields) {
      const f = recv.fields[name];
      if (typeof f !== 'function') {
        if (nargs > 0) this.fail(`wrong number of args for ${name}: want 0 got ${nargs}`);
        return f;
      }
      // a method: its arguments are strings (docker's Label(name string))
      if (nargs !== f.length) this.fail(`wrong number of args for ${name}: want ${f.length} got ${nargs}`);
      const given = args.slice(1).map((a) => this.typedArg(dot, a, 'string'));
      if (final) given.push(this.checked(final.v, 'string'));
      return (f as (...a: unknown[]) => unknown)(...given);
    }
    if (isMap(recv) || (recv instanceof GoNil && recv.kind === 'map')) {
      if (nargs > 0) this.fail(`${name} is not a method but has arguments`);
      if (isMap(recv) && Object.prototype.hasOwnProperty.call(recv, name)) return recv[name];
      if (this.opts.missingKeyError) this.fail(`map has no entry for key ${JSON.stringify(name)}`);
      return undefined;
    }
    if (recv instanceof GoNil && recv.kind === 'ptr') this.fail(`nil pointer evaluating ${typeName(recv)}.${name}`);
    this.fail(`can't evaluate field ${name} in type ${this.opts.missingKeyError ? 'interface {}' : typeName(recv)}`);
  }

  private evalArg(dot: unknown, a: Arg): unknown {
    this.at(a.pos, argString(a));
    switch (a.t) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'bool':
      case 'number':
      case 'string':
        return a.value;
      case 'field':
        return this.evalFieldChain(dot, dot, a.ident, [a], undefined);
      case 'variable': {
        const v = this.varValue(a.ident[0]!);
        return a.ident.length === 1 ? v : this.evalFieldChain(dot, v, a.ident.slice(1), [a], undefined);
      }
      case 'pipe':
        return this.evalPipeline(dot, a.pipe);
      case 'chain': {
        const recv = this.evalArg(dot, a.node);
        this.at(a.pos, argString(a));
        return this.evalFieldChain(dot, recv, a.field, [a], undefined);
      }
      case 'identifier':
        return this.evalFunction(dot, a, { pos: a.pos, args: [a] }, undefined);
    }
  }

  /** An argument for a typed parameter: a literal of the wrong kind or a value of the wrong type is an error. */
  private typedArg(dot: unknown, a: Arg, type: ArgType): unknown {
    if (type && (a.t === 'bool' || a.t === 'number' || a.t === 'string' || a.t === 'nil')) {
      this.at(a.pos, argString(a));
      const lit = a as Literal;
      const ok = type === 'string' ? lit.t === 'string' : type === 'int' ? lit.t === 'number' && Number.isInteger(lit.value) : false;
      if (!ok) this.fail(`expected ${type === 'string' ? 'string' : type === 'int' ? 'integer' : '[]string'}; found ${argString(a)}`);
      return lit.t === 'nil' ? null : lit.value;
    }
    return this.checked(this.evalArg(dot, a), type);
  }

  private checked(v: unknown, type: ArgType): unknown {
    const want = type === 'string' ? 'string' : type === 'int' ? 'int' : '[]string';
    if (type === 'string' && typeof v !== 'string') this.fail(`wrong type for value; expected ${want}; got ${typeName(v)}`);
    if (type === 'int' && !(typeof v === 'number' && Number.isInteger(v))) this.fail(`wrong type for value; expected ${want}; got ${typeName(v)}`);
    if (type === 'strings' && !Array.isArray(v) && !(v instanceof GoNil && v.kind === 'slice')) this.fail(`wrong type for value; expected ${want}; got ${typeName(v)}`);
    return v;
  }

  private evalFunction(dot: unknown, id: Extract<Arg, { t: 'identifier' }>, cmd: CommandNode, final?: { v: unknown }): unknown {
    const name = id.name;
    const argNodes = cmd.args.slice(1);
    const header = this.opts.header && name in HEADER_FUNCS;
    const spec = header ? HEADER_FUNCS[name]! : FUNCS[name]!;
    const nargs = argNodes.length + (final ? 1 : 0);
    this.at(id.pos, name);
    if (typeof spec.arity === 'number' && nargs !== spec.arity) this.fail(`wrong number of args for ${name}: want ${spec.arity} got ${nargs}`);
    if (typeof spec.arity !== 'number' && nargs < spec.arity[0]) this.fail(`wrong number of args for ${name}: want at least ${spec.arity[0]} got ${argNodes.length}`);
    // and/or evaluate their arguments lazily and return the deciding one
    if (name === 'and' || name === 'or') {
      let v: unknown;
      for (let i = 0; i < nargs; i++) {
        v = i < argNodes.length ? this.evalArg(dot, argNodes[i]!) : final!.v;
        if (name === 'and' ? !truth(v) : truth(v)) return v;
      }
      return v;
    }
    const args = argNodes.map((a, i) => this.typedArg(dot, a, spec.types?.[i]));
    if (final) args.push(this.checked(final.v, spec.types?.[args.length]));
    this.at(cmd.pos, cmdString(cmd));
    try {
      return spec.fn(args);
    } catch (e) {
      if (e instanceof ExecError) throw e;
      this.fail(`error calling ${name}: ${(e as Error).message}`);
    }
  }
}

function basicKind(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (v === null || v === undefined || v instanceof GoNil) return 'nil';
  return 'other';
}

function eq(args: unknown[]): boolean {
  if (args.length < 2) throw new Error('missing argument for comparison');
  const a = args[0];
  for (const b of args.slice(1)) {
    const ka = basicKind(a);
    const kb = basicKind(b);
    if (ka === 'nil' || kb === 'nil') {
      if (ka === kb) return true;
      continue;
    }
    if (ka === 'other' || kb === 'other') throw new Error('non-comparable type');
    if (ka !== kb) throw new Error('incompatible types for comparison');
    if (a === b) return true;
  }
  return false;
}

function lt(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  if (ka === 'bool' || ka === 'other' || ka === 'nil') throw new Error('invalid type for comparison');
  if (ka !== basicKind(b)) throw new Error('incompatible types for comparison');
  return (a as string | number) < (b as string | number);
}

const utf8Len = (s: string): number => Buffer.byteLength(s, 'utf8');

function indexOf(item: unknown, idx: unknown[]): unknown {
  let v = item;
  for (const i of idx) {
    if (v === null || v === undefined) throw new Error('index of untyped nil');
    if (typeof v === 'string' || Array.isArray(v)) {
      if (typeof i !== 'number' || !Number.isInteger(i)) throw new Error(`cannot index slice/array with type ${typeName(i)}`);
      const len = typeof v === 'string' ? utf8Len(v) : v.length;
      if (i < 0 || i >= len) throw new Error(`index out of range: ${i}`);
      v = typeof v === 'string' ? Buffer.from(v, 'utf8')[i] : v[i];
    } else if (v instanceof GoNil && v.kind === 'slice') {
      throw new Error(`index out of range: ${goPrint(i)}`);
    } else if (v instanceof GoNil && v.kind === 'map') {
      v = '';
    } else if (isMap(v)) {
      v = Object.prototype.hasOwnProperty.call(v, String(i)) ? v[String(i)] : undefined;
    } else throw new Error(`can't index item of type ${typeName(v)}`);
  }
  return v;
}

function sliceOf(item: unknown, idx: unknown[]): unknown {
  if (typeof item !== 'string' && !Array.isArray(item)) throw new Error(`can't slice item of type ${typeName(item)}`);
  const len = typeof item === 'string' ? utf8Len(item) : item.length;
  const [i = 0, j = len] = idx as number[];
  if (i < 0 || j > len || i > j) throw new Error(`index out of range: ${j > len ? j : i}`);
  return typeof item === 'string' ? Buffer.from(item, 'utf8').subarray(i, j).toString('utf8') : item.slice(i, j);
}

/** fmt.Sprint: a space between operands when neither side is a string. */
function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += goPrint(a);
  });
  return out;
}

/** fmt.Sprintf for the verbs templates use: %s %v %d %q %x %X %o %b %c %t %f %e %g %%, flags, width, precision. */
export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let ai = 0;
  const re = /%([-+# 0]*)(\*|\d+)?(\.(\*|\d+)?)?([a-zA-Z%])/g;
  let last = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const flags = m[1] ?? '';
    const verb = m[5]!;
    if (verb === '%') {
      out += '%';
      continue;
    }
    const width = m[2] === '*' ? Number(args[ai++]) : m[2] === undefined ? undefined : Number(m[2]);
    const prec = m[4] === '*' ? Number(args[ai++]) : m[3] === undefined ? undefined : Number(m[4] ?? 0);
    if (ai >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[ai++];
    const bad = `%!${verb}(${typeName(a)}=${goPrint(a)})`;
    const isInt = typeof a === 'number' && Number.isInteger(a);
    let s: string;
    switch (verb) {
      case 'v':
        s = goPrint(a);
        break;
      case 's':
        s = typeof a === 'number' || typeof a === 'boolean' ? bad : goPrint(a);
        if (prec !== undefined && typeof a === 'string') s = [...s].slice(0, prec).join('');
        break;
      case 'q':
        s = typeof a === 'string' ? goQuote(a) : isInt ? `'${String.fromCodePoint(a as number)}'` : bad;
        break;
      case 'd':
        s = isInt ? `${flags.includes('+') && (a as number) >= 0 ? '+' : ''}${a as number}` : bad;
        break;
      case 'x':
      case 'X':
        s = isInt ? (a as number).toString(16) : typeof a === 'string' ? Buffer.from(a, 'utf8').toString('hex') : bad;
        if (verb === 'X' && s !== bad) s = s.toUpperCase();
        break;
      case 'o':
      case 'b':
        s = isInt ? (a as number).toString(verb === 'o' ? 8 : 2) : bad;
        break;
      case 'c':
        s = isInt ? String.fromCodePoint(a as number) : bad;
        break;
      case 't':
        s = typeof a === 'boolean' ? String(a) : bad;
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'g':
        if (typeof a !== 'number') s = bad;
        else {
          if (verb === 'e') s = a.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
          else if (verb === 'g') s = prec === undefined ? goFloat(a) : goFloat(Number(a.toPrecision(prec)));
          else s = a.toFixed(prec ?? 6);
          if (flags.includes('+') && a >= 0) s = `+${s}`;
        }
        break;
      default:
        s = bad;
    }
    const len = [...s].length;
    if (width !== undefined && len < width) {
      if (flags.includes('-')) s += ' '.repeat(width - len);
      else if (flags.includes('0') && 'dfFeg'.includes(verb) && /^[+-]?\d/.test(s)) {
        const sign = /^[+-]/.test(s) ? s[0]! : '';
        s = sign + '0'.repeat(width - len) + s.slice(sign.length);
      } else s = ' '.repeat(width - len) + s;
    }
    out += s;
  }
  out += format.slice(last);
  if (ai < args.length) out += `%!(EXTRA ${args.slice(ai).map((a) => `${typeName(a)}=${goPrint(a)}`).join(', ')})`;
  return out;
}

function jsEscape(s: string): string {
  return s.replace(/[\\'"<>&=\u0000-\u001f]/g, (c) => {
    if (c === '\\' || c === "'" || c === '"') return `\\${c}`;
    return `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  });
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;', '\u0000': '\uFFFD' };

interface FuncSpec {
  arity: number | [number];
  types?: ArgType[];
  fn: (a: unknown[]) => unknown;
}

const FUNCS: Record<string, FuncSpec> = {
  and: { arity: [1], fn: () => undefined },
  or: { arity: [1], fn: () => undefined },
  not: { arity: 1, fn: (a) => !truth(a[0]) },
  len: {
    arity: 1,
    fn: ([v]) => {
      if (typeof v === 'string') return utf8Len(v);
      if (Array.isArray(v)) return v.length;
      if (v instanceof GoNil && v.kind !== 'ptr') return 0;
      if (isMap(v)) return Object.keys(v).length;
      throw new Error(`len of ${v === undefined || v === null ? 'nil pointer' : `type ${typeName(v)}`}`);
    },
  },
  index: { arity: [1], fn: ([item, ...idx]) => indexOf(item, idx) },
  slice: { arity: [1], fn: ([item, ...idx]) => sliceOf(item, idx) },
  eq: { arity: [1], fn: (a) => eq(a) },
  ne: { arity: 2, fn: (a) => !eq(a) },
  lt: { arity: 2, fn: ([a, b]) => lt(a, b) },
  le: { arity: 2, fn: ([a, b]) => lt(a, b) || eq([a, b]) },
  gt: { arity: 2, fn: ([a, b]) => !lt(a, b) && !eq([a, b]) },
  ge: { arity: 2, fn: ([a, b]) => !lt(a, b) },
  print: { arity: [0], fn: (a) => sprint(a) },
  printf: { arity: [1], types: ['string'], fn: ([f, ...a]) => sprintf(f as string, a) },
  println: { arity: [0], fn: (a) => `${a.map(goPrint).join(' ')}\n` },
  html: { arity: [0], fn: (a) => sprint(a).replace(/[&'<>"\u0000]/g, (c) => HTML_ESCAPES[c]!) },
  js: { arity: [0], fn: (a) => jsEscape(sprint(a)) },
  urlquery: { arity: [0], fn: (a) => encodeURIComponent(sprint(a)).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) },
  json: { arity: 1, fn: ([v]) => goJson(v) },
  split: { arity: 2, types: ['string', 'string'], fn: ([s, sep]) => ((sep as string) === '' ? [...(s as string)] : (s as string).split(sep as string)) },
  join: { arity: 2, types: ['strings', 'string'], fn: ([l, sep]) => (l instanceof GoNil ? '' : (l as unknown[]).map(goPrint).join(sep as string)) },
  title: { arity: 1, types: ['string'], fn: ([s]) => (s as string).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase()) },
  lower: { arity: 1, types: ['string'], fn: ([s]) => (s as string).toLowerCase() },
  upper: { arity: 1, types: ['string'], fn: ([s]) => (s as string).toUpperCase() },
  pad: { arity: 3, types: ['string', 'int', 'int'], fn: ([s, p, q]) => ((s as string) === '' ? '' : ' '.repeat(p as number) + (s as string) + ' '.repeat(q as number)) },
  truncate: {
    arity: 2,
    types: ['string', 'int'],
    fn: ([s, n]) => (utf8Len(s as string) < (n as number) ? s : Buffer.from(s as string, 'utf8').subarray(0, n as number).toString('utf8')),
  },
};

/** docker's HeaderFunctions: in a table header these return the column title untouched. */
const HEADER_FUNCS: Record<string, FuncSpec> = {
  json: { arity: 1, types: ['string'], fn: ([v]) => v },
  split: { arity: 2, types: ['string', 'string'], fn: ([v]) => v },
  join: { arity: 2, types: ['string', 'string'], fn: ([v]) => v },
  title: { arity: 1, types: ['string'], fn: ([v]) => v },
  lower: { arity: 1, types: ['string'], fn: ([v]) => v },
  upper: { arity: 1, types: ['string'], fn: ([v]) => v },
  truncate: { arity: 2, types: ['string', 'int'], fn: ([v]) => v },
};

/** Runs a parsed template over `data`; an execution error throws TemplateError(`template: :L:C: executing …`). */
export function executeTemplate(tpl: Template, data: unknown, opts: ExecOptions = {}): string {
  const s = new State(tpl, data, opts);
  try {
    s.walk(data, tpl.root);
  } catch (e) {
    if (e instanceof ExecError) throw Object.assign(new TemplateError(e.message), { partial: s.out });
    throw e;
  }
  return s.out;
}

/** parse + execute */
export function goTemplate(src: string, data: unknown, opts: ExecOptions = {}): string {
  return executeTemplate(parseTemplate(src), data, opts);
}

// ---- docker's formatter.Context ------------------------------------------------------------------

/** `table …` formats: a header row and aligned columns. */
export const isTableFormat = (f: string): boolean => f.startsWith('table');

/** docker's preFormat: drop `table`, `json` → `{{json .}}`, trim spaces, `\t`/`\n` escapes. */
export function finalFormat(format: string): string {
  let f = format;
  if (isTableFormat(f)) f = f.slice('table'.length);
  else if (f === 'json') f = '{{json .}}';
  f = f.replace(/^ +| +$/g, '');
  return f.replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n'));
}

/**
 * docker's formatter.Context.Write: each item through the template with a newline after it; for
 * `table` formats the header (the template over the column titles, with docker's header
 * functions) first and everything through the tabwriter. Template errors are one-line UserErrors
 * worded like docker's (`template parsing error: template: …`).
 */
export function renderFormat(format: string, items: unknown[], header: Record<string, string>): string {
  let tpl: Template;
  try {
    tpl = parseTemplate(finalFormat(format));
  } catch (e) {
    throw templateUserError(e, 'template parsing error');
  }
  let body = '';
  for (const it of items) {
    try {
      body += `${executeTemplate(tpl, it)}\n`;
    } catch (e) {
      throw templateUserError(e, 'template parsing error');
    }
  }
  if (!isTableFormat(format)) return body;
  let head: string;
  try {
    head = executeTemplate(tpl, header, { header: true });
  } catch (e) {
    head = (e as { partial?: string }).partial ?? '';
  }
  return tabwrite(`${head}\n${body}`);
}

/** A TemplateError as docker words it (`PREFIX: template: …`); anything else unchanged. */
export function templateUserError(e: unknown, prefix: string): unknown {
  return e instanceof TemplateError ? new UserError(`${prefix}: ${e.message}`) : e;
}
