/**
 * The low-level Dockerfile syntax tree and its dump, mirroring BuildKit's `parser.Node`.
 *
 * In: nothing (types) / an AST. Out: `dumpNodes` renders BuildKit's s-expression dump format
 * (`(copy ["--from=a"] "src" "dst")`, one line per instruction) used by `stagecraft parse --dump`.
 */
import { goQuote, trimSpace } from './gostr.js';

/** A 1-based source position. */
export interface Pos {
  line: number;
  col: number;
}

export interface Heredoc {
  /** delimiter word with quotes removed (e.g. `EOF`) */
  name: string;
  /** file descriptor prefix (`3<<EOF`), 0 when absent */
  fd: number;
  /** false when any part of the delimiter was quoted: the body is not expanded */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the body and the terminator */
  chomp: boolean;
  /** raw body lines, each with its line ending, terminator excluded */
  content: string;
}

/** One argument of a node: a plain value, or (ONBUILD) a nested instruction. */
export type AstArg = { value: string; child?: undefined } | { value?: undefined; child: AstNode };

export interface AstNode {
  /** the instruction keyword as written (`RUN`, `from`, ...) */
  value: string;
  /** arguments after BuildKit's per-instruction line parser */
  args: AstArg[];
  /** builder flags as written, e.g. `--from=build` (quotes removed) */
  flags: string[];
  /** `json: true` when the arguments came from a JSON (exec-form) array */
  attributes: { json?: boolean };
  /** the logical line: continuation lines joined, comments inside dropped */
  original: string;
  heredocs: Heredoc[];
  /** position of the first character of the instruction keyword */
  pos: Pos;
  /** last source line of the instruction (heredoc bodies included) */
  endLine: number;
  /** comment lines directly before the instruction (without `#`) */
  comments: string[];
}

export interface Directive {
  name: string; // lower-cased: syntax, escape, check
  value: string;
  pos: Pos;
}

export interface AstResult {
  file?: string;
  directives: Directive[];
  escapeChar: '\\' | '`';
  nodes: AstNode[];
  warnings: string[];
}

/** BuildKit's Node.Dump for one instruction (without the surrounding parentheses). */
export function dumpNode(n: AstNode): string {
  let s = n.value.toLowerCase();
  if (n.flags.length > 0) s += ' [' + n.flags.map(goQuote).join(' ') + ']';
  for (const a of n.args) {
    if (a.child) s += ' (' + dumpNode(a.child) + ')';
    else s += ' ' + goQuote(a.value);
  }
  return trimSpace(s);
}

/** The whole-file dump: `(instr ...)` per line, trimmed, plus one trailing newline. */
export function dumpNodes(nodes: AstNode[]): string {
  return nodes.map((n) => '(' + dumpNode(n) + ')').join('\n') + '\n';
}
