/**
 * The linter's view of a Dockerfile: parsed without giving up. Each instruction is typed on its
 * own (a bad one becomes an `InvalidDockerfile` problem at its position and is left out), stages
 * are resolved the way BuildKit's dockerfile2llb resolves them (names case-insensitive, FROM
 * expanded with the global ARGs' defaults and the build args, `--from` by name or index), and
 * which stages the target reaches and ships is computed without ever throwing: a duplicate name, an
 * undefined ARG or an empty base are for the rules to report.
 * In: text + options. Out: `LintModel`. Pure.
 */
import { parseAst, ShellLex, toInstruction, type AstNode, type Directive, type FromInstruction, type Instruction } from '../dockerfile/index.js';
import { fromChain as planFromChain, lookupStage, platformArgs } from '../plan/index.js';
import { UserError } from '../util/errors.js';

export type Base = { kind: 'scratch' } | { kind: 'stage'; index: number } | { kind: 'image'; ref: string } | { kind: 'unknown' };

export interface LintStage {
  index: number;
  /** `AS` name lower-cased, and as written */
  name?: string;
  rawName?: string;
  from: FromInstruction;
  node: AstNode;
  instructions: Instruction[];
  /** the AST node of each instruction (same order) */
  nodes: AstNode[];
  /** FROM image after expansion with the global ARGs ('' when it expands to nothing) */
  baseName: string;
  base: Base;
}

export interface Problem {
  message: string;
  line: number;
  col: number;
  endLine: number;
}

export interface LintModel {
  file: string;
  text: string;
  lines: string[];
  directives: Directive[];
  escapeChar: '\\' | '`';
  nodes: AstNode[];
  /** typed instruction per node (undefined where typing failed) */
  typed: (Instruction | undefined)[];
  globalArgs: { ins: Instruction & { kind: 'ARG' }; node: AstNode }[];
  stages: LintStage[];
  /** global ARG values (defaults after --build-arg overrides) and the predefined platform ARGs */
  globalEnv: Map<string, string>;
  /** index of the target stage (-1 when there are no stages) */
  target: number;
  /** stages the target needs (FROM chain, COPY --from, RUN --mount from=) */
  needed: Set<number>;
  /** stages whose filesystem ends up in the target image (its FROM chain) */
  shipped: Set<number>;
  /** the parse error that stopped everything, or per-instruction typing errors */
  problems: Problem[];
  warnings: string[];
  /** false when the whole file failed to parse: no rule can run */
  parsed: boolean;
}

export interface ModelOptions {
  file?: string;
  target?: string;
  buildArgs?: Record<string, string>;
  /** predefined platform ARGs (TARGETPLATFORM, BUILDARCH, ...) */
  platformArgs?: Record<string, string>;
}

/** BuildKit's predefined platform ARGs for linux/amd64 (lint does not depend on the host) */
const DEFAULT_PLATFORM_ARGS: Record<string, string> = platformArgs({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64' });

export function buildModel(text: string, opts: ModelOptions = {}): LintModel {
  const file = opts.file ?? 'Dockerfile';
  const lines = text.split(/\r?\n/);
  const m: LintModel = {
    file,
    text,
    lines,
    directives: [],
    escapeChar: '\\',
    nodes: [],
    typed: [],
    globalArgs: [],
    stages: [],
    globalEnv: new Map(Object.entries(opts.platformArgs ?? DEFAULT_PLATFORM_ARGS)),
    target: -1,
    needed: new Set(),
    shipped: new Set(),
    problems: [],
    warnings: [],
    parsed: false,
  };
  let ast;
  try {
    ast = parseAst(text, { file });
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    const line = e.pos?.line ?? 1;
    m.problems.push({ message: e.message, line, col: e.pos?.col ?? 1, endLine: line });
    return m;
  }
  m.parsed = true;
  m.directives = ast.directives;
  m.escapeChar = ast.escapeChar;
  m.nodes = ast.nodes;
  m.warnings = ast.warnings;
  const buildArgs = opts.buildArgs ?? {};
  for (const [k, v] of Object.entries(buildArgs)) if (m.globalEnv.has(k)) m.globalEnv.set(k, v);
  const lex = new ShellLex(ast.escapeChar);

  for (const node of ast.nodes) {
    let ins: Instruction | undefined;
    try {
      ins = toInstruction(node, file, ast.lines);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      m.problems.push({ message: e.message, line: e.pos?.line ?? node.pos.line, col: e.pos?.col ?? node.pos.col, endLine: node.endLine });
    }
    m.typed.push(ins);
    if (!ins) continue;
    if (ins.kind === 'FROM') {
      const raw = node.args.length >= 3 ? node.args[2]?.value : undefined;
      m.stages.push({ index: m.stages.length, name: ins.name, rawName: raw, from: ins, node, instructions: [], nodes: [], baseName: '', base: { kind: 'unknown' } });
      continue;
    }
    const cur = m.stages[m.stages.length - 1];
    if (!cur) {
      if (ins.kind === 'ARG') {
        m.globalArgs.push({ ins, node });
        for (const a of ins.args) {
          let v: string | undefined;
          if (Object.prototype.hasOwnProperty.call(buildArgs, a.key)) v = buildArgs[a.key];
          else if (a.value !== undefined) {
            try {
              v = lex.processWord(a.value, m.globalEnv);
            } catch {
              v = a.value;
            }
          }
          if (v !== undefined) m.globalEnv.set(a.key, v);
        }
      } else {
        m.problems.push({ message: 'no build stage in current context', line: ins.pos.line, col: ins.pos.col, endLine: ins.endLine });
      }
      continue;
    }
    cur.instructions.push(ins);
    cur.nodes.push(node);
  }

  // bases
  const byName = new Map<string, number>();
  for (const st of m.stages) {
    let baseName = '';
    try {
      baseName = lex.processWord(st.from.image, m.globalEnv);
    } catch {
      baseName = st.from.image;
    }
    st.baseName = baseName;
    const named = byName.get(baseName.toLowerCase());
    if (baseName === '') st.base = { kind: 'unknown' };
    else if (named !== undefined) st.base = { kind: 'stage', index: named };
    else if (baseName.toLowerCase() === 'scratch') st.base = { kind: 'scratch' };
    else st.base = { kind: 'image', ref: baseName };
    // a later duplicate does not replace the first (BuildKit keeps the first for lookups... and fails); keep first
    if (st.name && !byName.has(st.name)) byName.set(st.name, st.index);
  }
  if (m.stages.length === 0) return m;

  // target
  m.target = m.stages.length - 1;
  if (opts.target) {
    const t = byName.get(opts.target.toLowerCase());
    if (t !== undefined) m.target = t;
    else throw new UserError(`target stage ${JSON.stringify(opts.target)} could not be found`);
  }
  const depsOf = (st: LintStage): number[] => {
    const out: number[] = [];
    if (st.base.kind === 'stage') out.push(st.base.index);
    const ref = (v: string | undefined) => {
      const i = stageRef(m, v, st.index);
      if (i !== undefined) out.push(i);
    };
    for (const ins of st.instructions) {
      if (ins.kind === 'COPY') ref(ins.from);
      if (ins.kind === 'RUN') for (const mt of ins.mounts) ref(mt.from);
    }
    return out;
  };
  const mark = (i: number) => {
    if (m.needed.has(i)) return;
    m.needed.add(i);
    for (const d of depsOf(m.stages[i]!)) mark(d);
  };
  mark(m.target);
  for (const i of fromChain(m, m.target)) m.shipped.add(i);
  return m;
}

/** The stage a `--from` / mount `from=` value names, if it names one defined before stage `before`. */
export function stageRef(m: LintModel, v: string | undefined, before: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  let i: number | undefined;
  try {
    i = lookupStage(m.stages, v);
  } catch {
    return undefined; // an invalid index names no stage; the build reports it
  }
  return i !== undefined && i < before ? i : undefined;
}

/** `index` and the stages its FROM chain goes through, nearest first (the planner's walk). */
export function fromChain(m: LintModel, index: number): number[] {
  return planFromChain({ stages: m.stages.map((s) => ({ base: s.base.kind === 'unknown' ? { kind: 'scratch' as const } : s.base })) }, index);
}

/** The image at the root of a stage's FROM chain (undefined for scratch / unknown). */
export function rootImage(m: LintModel, index: number): string | undefined {
  const b = m.stages[fromChain(m, index).at(-1)!]!.base;
  return b.kind === 'image' ? b.ref : undefined;
}

/** Text of a RUN: the command plus heredoc bodies. */
export function runScript(ins: Instruction & { kind: 'RUN' }): string {
  const cmd = typeof ins.command === 'string' ? ins.command : ins.command.join(' ');
  return [cmd, ...ins.heredocs.map((h) => h.content)].join('\n');
}
