/**
 * The Dockerfile front end's public API.
 *
 * In: Dockerfile text. Out: a `Dockerfile` — directives, BuildKit's syntax tree (`ast`, dumpable
 * with `dumpAst`), and typed `Instruction`s grouped into global ARGs and stages, every node with a
 * 1-based `pos`. Arguments stay RAW: expand them with `ShellLex` in the stage's environment.
 * `parseAst` stops at the syntax tree (what `stagecraft parse --dump` prints; BuildKit's parser
 * accepts unknown instructions and unknown flags there), `parseDockerfile` also types and
 * validates every instruction. All user errors are `UserError` with `FILE:LINE:COL`.
 */
import { UserError } from '../util/errors.js';
import type { AstNode, AstResult, Directive, Pos } from './ast.js';
import { dumpNodes } from './ast.js';
import type { ArgInstruction, FromInstruction, Instruction } from './instructions.js';
import { toInstruction } from './instructions.js';
import { parseAst } from './parser.js';

export { parseAst, chompHeredocContent, parseHeredocWord } from './parser.js';
export type { ParseAstOptions } from './parser.js';
export { ShellLex, ShellExpansionError, MAX_WORD_LENGTH } from './shell.js';
export type { Env, ProcessResult, ShellLexOptions } from './shell.js';
export { splitCommands, joinCommands, commandWords, commandName, type ShellCommand } from './shellcmd.js';
export { dumpNode } from './ast.js';
export type { AstNode, AstArg, AstResult, Directive, Heredoc, Pos } from './ast.js';
export { toInstruction, levenshtein, expandRunMounts, parseRunMount, resolveRunMount, parseGoDuration, INSTRUCTION_NAMES } from './instructions.js';
export type * from './instructions.js';

/** One build stage: its FROM and the instructions after it. */
export interface Stage {
  /** 0-based stage index */
  index: number;
  /** lower-cased `AS` name */
  name?: string;
  from: FromInstruction;
  /** instructions after FROM, in order */
  instructions: Instruction[];
  pos: Pos;
}

export interface Dockerfile {
  file?: string;
  directives: Directive[];
  escapeChar: '\\' | '`';
  /** BuildKit's syntax tree, one node per instruction */
  ast: AstNode[];
  /** every instruction in source order (FROMs and global ARGs included) */
  instructions: Instruction[];
  /** ARGs before the first FROM */
  globalArgs: ArgInstruction[];
  stages: Stage[];
  warnings: string[];
}

export interface ParseOptions {
  /** file name used in error messages */
  file?: string;
}

/** Parses and types a Dockerfile. Throws `UserError` with a position on any problem. */
export function parseDockerfile(text: string, opts: ParseOptions = {}): Dockerfile {
  const ast = parseAst(text, opts);
  const instructions: Instruction[] = [];
  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  for (const node of ast.nodes) {
    const ins = toInstruction(node, opts.file, ast.lines);
    instructions.push(ins);
    if (ins.kind === 'FROM') {
      stages.push({ index: stages.length, name: ins.name, from: ins, instructions: [], pos: ins.pos });
      continue;
    }
    const cur = stages[stages.length - 1];
    if (!cur) {
      if (ins.kind === 'ARG') {
        globalArgs.push(ins);
        continue;
      }
      throw new UserError('no build stage in current context', { pos: { file: opts.file, ...ins.pos } });
    }
    cur.instructions.push(ins);
  }
  return {
    file: opts.file,
    directives: ast.directives,
    escapeChar: ast.escapeChar,
    ast: ast.nodes,
    instructions,
    globalArgs,
    stages,
    warnings: ast.warnings,
  };
}

/** BuildKit's AST dump (`(from "alpine")` ...), one line per instruction, newline-terminated. */
export function dumpAst(d: Dockerfile | AstResult): string {
  return dumpNodes('ast' in d ? d.ast : d.nodes);
}
