/**
 * Front end → solver. In: Dockerfile text, target, --build-arg values, platforms. Out: a
 * `SolverPlan` — stages with raw `Step`s, each stage's base resolved (scratch / an earlier stage /
 * an image reference after global-ARG expansion), which stages the target needs and what each
 * depends on (from the planner, src/plan), the global ARG scope (meta ARGs with build args applied,
 * plus BuildKit's predefined platform args), and the target. This is the one place that knows the
 * parser's instruction shapes (src/dockerfile); the engine sees only `Step`s.
 */
import { parseDockerfile, ShellLex, type Instruction, type HeredocBody, type Dockerfile } from '../dockerfile/index.js';
import type { Platform } from '../image/types.js';
import { UserError } from '../util/errors.js';
import { parsePlatform } from '../reference/index.js';
import { formatPlatform, fromChain, planBuild } from '../plan/index.js';
import type { Heredoc, Lexer, SolverPlan, SolverStage, Step, StepPos } from './types.js';

export { formatPlatform, fromChain };

export function makeLexer(escapeChar: string): Lexer & { raw: ShellLex } {
  const lex = new ShellLex(escapeChar);
  return {
    raw: lex,
    processWord: (w, env) => lex.processWord(w, env),
    processWords: (w, env) => lex.processWords(w, env),
  };
}

function heredocs(h: HeredocBody[]): Heredoc[] {
  // the parser already stripped `<<-` tabs from `content`
  return h.map((x) => ({ name: x.name, data: x.content, chomp: false, expand: x.expand }));
}

function posOf(ins: Instruction): StepPos {
  return { line: ins.pos.line, endLine: Math.max(ins.endLine ?? ins.pos.line, ins.pos.line) };
}

/** Typed instruction → Step (undefined for FROM). */
export function toStep(ins: Instruction): Step | undefined {
  const base = { ...posOf(ins), original: ins.original };
  switch (ins.kind) {
    case 'FROM':
      return undefined;
    case 'RUN':
      return {
        ...base,
        kind: 'run',
        cmd: typeof ins.command === 'string' ? [ins.command] : [...ins.command],
        shellForm: !ins.json,
        heredocs: heredocs(ins.heredocs),
        mounts: [...ins.mounts],
        network: ins.network,
        security: ins.security,
      };
    case 'CMD':
    case 'ENTRYPOINT':
      return {
        ...base,
        kind: ins.kind === 'CMD' ? 'cmd' : 'entrypoint',
        cmd: typeof ins.command === 'string' ? [ins.command] : [...ins.command],
        shellForm: !ins.json,
      };
    case 'SHELL':
      return { ...base, kind: 'shell', shell: [...ins.shell] };
    case 'ENV':
      return { ...base, kind: 'env', pairs: ins.pairs.map((p) => ({ key: p.key, value: p.value })) };
    case 'LABEL':
      return { ...base, kind: 'label', pairs: ins.pairs.map((p) => ({ key: p.key, value: p.value })) };
    case 'ARG':
      return { ...base, kind: 'arg', args: ins.args.map((a) => ({ ...a })) };
    case 'EXPOSE':
      return { ...base, kind: 'expose', words: [...ins.ports] };
    case 'VOLUME':
      return { ...base, kind: 'volume', words: [...ins.volumes] };
    case 'USER':
      return { ...base, kind: 'user', value: ins.user };
    case 'WORKDIR':
      return { ...base, kind: 'workdir', value: ins.path };
    case 'STOPSIGNAL':
      return { ...base, kind: 'stopsignal', value: ins.signal };
    case 'MAINTAINER':
      return { ...base, kind: 'maintainer', value: ins.maintainer };
    case 'ONBUILD':
      return { ...base, kind: 'onbuild', expression: ins.expression };
    case 'HEALTHCHECK':
      return {
        ...base,
        kind: 'healthcheck',
        test: [...ins.test],
        interval: ins.interval,
        timeout: ins.timeout,
        startPeriod: ins.startPeriod,
        startInterval: ins.startInterval,
        retries: ins.retries,
      };
    case 'COPY':
      return {
        ...base,
        kind: 'copy',
        srcs: [...ins.sources],
        dest: ins.dest,
        heredocs: heredocs(ins.heredocs),
        from: ins.from,
        chown: ins.chown,
        chmod: ins.chmod,
        link: ins.link,
        parents: ins.parents,
        exclude: [...ins.exclude],
      };
    case 'ADD':
      return {
        ...base,
        kind: 'add',
        srcs: [...ins.sources],
        dest: ins.dest,
        heredocs: heredocs(ins.heredocs),
        chown: ins.chown,
        chmod: ins.chmod,
        link: ins.link,
        exclude: [...ins.exclude],
        checksum: ins.checksum,
        keepGitDir: ins.keepGitDir,
        unpack: ins.unpack,
      };
  }
}

/** Parses one ONBUILD trigger (`RUN echo hi`) as a Step positioned at the stage's FROM line. */
export function parseTrigger(text: string, pos: StepPos, file?: string): Step {
  const df = parseDockerfile(`FROM scratch\n${text}\n`, { file });
  const ins = df.stages[0]?.instructions;
  if (!ins || ins.length !== 1) throw new UserError('onbuild trigger should be a single expression');
  const step = toStep(ins[0]);
  if (!step) throw new UserError(`invalid ONBUILD trigger: ${text}`);
  return { ...step, line: pos.line, endLine: pos.endLine, onbuild: true };
}

export interface PlanOptions {
  file: string;
  target?: string;
  buildArgs: Record<string, string>;
  platform: Platform;
  buildPlatform: Platform;
  /** names of the named build contexts (they replace stages of the same name) */
  namedContexts?: readonly string[];
}

/** Dockerfile text → SolverPlan (stages, bases, global args, target), via the planner (src/plan). */
export function planFromText(text: string, opts: PlanOptions): { plan: SolverPlan; df: Dockerfile } {
  if (text.trim() === '') throw new UserError('the Dockerfile cannot be empty');
  const df = parseDockerfile(text, { file: opts.file });
  if (df.stages.length === 0) throw new UserError('dockerfile contains no stages to build');
  const p = planBuild(df, { target: opts.target, buildArgs: opts.buildArgs, platform: opts.platform, buildPlatform: opts.buildPlatform, namedContexts: opts.namedContexts });
  // ARGs a stage can inherit without a default: the predefined ones, then the global ones
  const globalArgs: Record<string, string> = { ...p.platformArgs, TARGETSTAGE: df.stages[p.target]?.name ?? '', ...p.globalArgs };
  const stages: SolverStage[] = p.stages.map((ps) => {
    const s = df.stages[ps.index];
    if (ps.needed && ps.platform !== undefined) {
      // one platform per build: --platform must name the one we build for (the host's)
      let want: Platform;
      try {
        want = parsePlatform(ps.platform);
      } catch (e) {
        throw positioned(e, opts.file, s.pos.line);
      }
      if (want.os !== opts.platform.os || want.architecture !== opts.platform.architecture) {
        throw new UserError(`FROM --platform=${formatPlatform(want)}: only ${formatPlatform(opts.platform)} can be built here (no emulation)`, {
          pos: { file: opts.file, line: s.pos.line, col: s.pos.col },
        });
      }
    }
    const steps: Step[] = [];
    for (const ins of ps.instructions) {
      const st = toStep(ins);
      if (st) steps.push(st);
    }
    return {
      index: ps.index,
      name: ps.name,
      base: ps.base,
      baseName: ps.baseName,
      platform: ps.platform,
      steps,
      pos: { line: s.pos.line, endLine: s.from.endLine ?? s.pos.line },
      original: s.from.original,
      needed: ps.needed,
      dependsOn: ps.dependsOn,
    };
  });
  return { plan: { stages, target: p.target, globalArgs, escapeChar: df.escapeChar, dockerfile: { name: opts.file, text } }, df };
}

export function positioned(e: unknown, file: string, line: number): unknown {
  if (e instanceof UserError && !e.pos) return new UserError(e.message, { exitCode: e.exitCode, pos: { file, line, col: 1 } });
  return e;
}

/** The stages a stage depends on (its base stage, COPY --from and RUN --mount from= stages). */
export function stageDeps(plan: SolverPlan, i: number): number[] {
  return plan.stages[i].dependsOn;
}

/** Stages reachable from the target, in index order. */
export function neededStages(plan: SolverPlan): number[] {
  return plan.stages.filter((s) => s.needed).map((s) => s.index);
}
