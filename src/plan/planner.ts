/**
 * The build planner: which stages a build needs, in which order, from which bases.
 *
 * In: a parsed `Dockerfile` plus the build's options (target, --build-arg values, target and
 * build platforms). Out: a `Plan` — every stage with its resolved base (scratch, an earlier
 * stage, or an image reference; FROM lines expanded with the global ARGs and the predefined
 * platform ARGs), the stages it depends on (FROM <stage>, COPY --from, RUN --mount from=),
 * whether the target needs it, and `order`: groups of needed stages that can run in parallel,
 * dependencies first. Semantics follow BuildKit's dockerfile2llb: stage names are
 * case-insensitive and must be unique; `--from=<n>` is a stage index; a name or index that
 * refers to the current or a later stage is an error ("needs to be defined before current
 * stage") when that stage is built; anything else is an image. Pure: no I/O.
 */
import type { ArgInstruction, Dockerfile, FromInstruction, Instruction, Pos } from '../dockerfile/index.js';
import { ShellLex } from '../dockerfile/index.js';
import type { Platform } from '../image/types.js';
import { hostPlatform } from '../image/types.js';
import { UserError } from '../util/errors.js';
import { formatPlatform, normalizePlatform } from '../reference/index.js';
import { laterStageError, lookupStage, stageLabel } from './stages.js';

export { formatPlatform, normalizePlatform };

export type StageRef = { kind: 'stage'; index: number } | { kind: 'image'; ref: string };
export type StageBase = { kind: 'scratch' } | StageRef;

/** A COPY --from / RUN --mount from= reference inside a stage, resolved. */
export interface StageSource {
  /** index into the stage's `instructions` */
  instruction: number;
  /** index into the RUN's `mounts` (RUN --mount only) */
  mount?: number;
  /** the value as written */
  from: string;
  resolved: StageRef;
}

export interface PlannedStage {
  index: number;
  /** lower-cased `AS` name */
  name?: string;
  base: StageBase;
  /** the FROM image word after global-ARG expansion */
  baseName: string;
  /** `--platform` after expansion (e.g. `linux/arm64`), when given */
  platform?: string;
  /** stages this one needs (base stage, COPY --from, RUN --mount from=), ascending */
  dependsOn: number[];
  /** true when the target (transitively) needs this stage */
  needed: boolean;
  from: FromInstruction;
  /** instructions after FROM (raw, unexpanded) */
  instructions: Instruction[];
  /** every --from / mount from= reference, resolved */
  sources: StageSource[];
  pos: Pos;
}

export interface Plan {
  /** index of the target stage */
  target: number;
  stages: PlannedStage[];
  /** needed stages grouped by dependency depth: each group can run in parallel, groups in order */
  order: number[][];
  /** global ARGs (declared before the first FROM) that have a value, after --build-arg overrides */
  globalArgs: Record<string, string>;
  /** TARGETPLATFORM, TARGETOS, ..., BUILDVARIANT */
  platformArgs: Record<string, string>;
  /** the --build-arg values given */
  buildArgs: Record<string, string>;
  /** --build-arg names no ARG of the needed stages (or the global scope) declares */
  unusedBuildArgs: string[];
  platform: Platform;
  buildPlatform: Platform;
}

export interface PlanOptions {
  /**
   * names of the build's named contexts (`--build-context NAME=...`): as in BuildKit, a stage of
   * that name is replaced by the context (FROM, --from and mount from= name the context; the
   * stage's own instructions are not built)
   */
  namedContexts?: readonly string[];
  target?: string;
  buildArgs?: Record<string, string>;
  platform?: Platform;
  buildPlatform?: Platform;
}

/**
 * `index` and the stages its FROM chain goes through, nearest first: the stages whose filesystem
 * ends up in stage `index` (a FROM <stage> only names an earlier stage, so the chain ends).
 */
export function fromChain(plan: { stages: ReadonlyArray<{ base: StageBase }> }, index: number): number[] {
  const out: number[] = [];
  for (let s: number | undefined = index; s !== undefined && !out.includes(s); ) {
    out.push(s);
    const b: StageBase = plan.stages[s].base;
    s = b.kind === 'stage' ? b.index : undefined;
  }
  return out;
}

/** The predefined platform ARGs BuildKit provides (platforms normalized as containerd does). */
export function platformArgs(target: Platform, build: Platform): Record<string, string> {
  const platform = normalizePlatform(target);
  const buildPlatform = normalizePlatform(build);
  return {
    TARGETPLATFORM: formatPlatform(platform),
    TARGETOS: platform.os,
    TARGETARCH: platform.architecture,
    TARGETVARIANT: platform.variant ?? '',
    BUILDPLATFORM: formatPlatform(buildPlatform),
    BUILDOS: buildPlatform.os,
    BUILDARCH: buildPlatform.architecture,
    BUILDVARIANT: buildPlatform.variant ?? '',
  };
}

const PLATFORM_ARG_NAMES = new Set(Object.keys(platformArgs({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64' })));

/**
 * The value an `ARG key[=default]` inside a stage takes (BuildKit's rules): a --build-arg wins;
 * else the default (which the caller expands in the stage's environment, via `expandDefault`);
 * else, for a bare `ARG key`, the global ARG or predefined platform ARG of that name.
 * `undefined` means the ARG is declared but has no value.
 */
export function stageArgValue(plan: Plan, arg: { key: string; value?: string }, expandDefault: (raw: string) => string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(plan.buildArgs, arg.key)) return plan.buildArgs[arg.key];
  if (arg.value !== undefined) return expandDefault(arg.value);
  if (Object.prototype.hasOwnProperty.call(plan.globalArgs, arg.key)) return plan.globalArgs[arg.key];
  if (Object.prototype.hasOwnProperty.call(plan.platformArgs, arg.key)) return plan.platformArgs[arg.key];
  return undefined;
}

function positioned(df: Dockerfile, pos: Pos, msg: string): UserError {
  return new UserError(msg, { pos: { file: df.file, line: pos.line, col: pos.col } });
}

/** Go's strconv.Atoi acceptance (optional sign, decimal digits). */
/** Plans a build. Throws `UserError` (positioned where possible). */
export function planBuild(df: Dockerfile, opts: PlanOptions = {}): Plan {
  const platform = opts.platform ?? hostPlatform();
  const buildPlatform = opts.buildPlatform ?? hostPlatform();
  const buildArgs = { ...(opts.buildArgs ?? {}) };
  const pArgs = platformArgs(platform, buildPlatform);
  const lex = new ShellLex(df.escapeChar);
  if (df.stages.length === 0) {
    const last = df.instructions[df.instructions.length - 1];
    throw new UserError('no build stage in current context', last ? { pos: { file: df.file, ...last.pos } } : {});
  }

  // Global ARGs: visible in FROM lines.
  const globalArgs: Record<string, string> = {};
  const scope = new Map<string, string>(Object.entries(pArgs));
  for (const k of Object.keys(pArgs)) if (Object.prototype.hasOwnProperty.call(buildArgs, k)) scope.set(k, buildArgs[k]!);
  const declareGlobalArgs = (ins: ArgInstruction) => {
    for (const a of ins.args) {
      let v: string | undefined;
      if (Object.prototype.hasOwnProperty.call(buildArgs, a.key)) v = buildArgs[a.key];
      else if (a.value !== undefined) {
        try {
          v = lex.processWord(a.value, scope);
        } catch (e) {
          throw positioned(df, ins.pos, e instanceof Error ? e.message : String(e));
        }
      }
      if (v !== undefined) {
        globalArgs[a.key] = v;
        scope.set(a.key, v);
      }
    }
  };
  for (const ins of df.globalArgs) declareGlobalArgs(ins);

  // Names.
  const byName = new Map<string, number>();
  for (const st of df.stages) {
    if (!st.name) continue;
    if (byName.has(st.name)) throw positioned(df, st.from.pos, `duplicate stage name ${JSON.stringify(st.name)}`);
    byName.set(st.name, st.index);
  }
  const label = (i: number) => stageLabel(df.stages, i);
  const replaced = new Set(opts.namedContexts ?? []);
  /** a stage by name, unless a named context replaces it */
  const stageNamed = (n: string): number | undefined => (replaced.has(n) ? undefined : byName.get(n));

  const stages: PlannedStage[] = [];
  // Forward references are reported only if the referring stage is built (as BuildKit dispatches).
  const pendingErrors = new Map<number, UserError>();
  for (const st of df.stages) {
    const from = st.from;
    let baseName: string;
    try {
      baseName = lex.processWord(from.image, scope);
    } catch (e) {
      throw positioned(df, from.pos, e instanceof Error ? e.message : String(e));
    }
    if (baseName === '') throw positioned(df, from.pos, `base name (${from.image}) should not be blank`);
    let plat: string | undefined;
    if (from.platform !== undefined) {
      try {
        plat = lex.processWord(from.platform, scope);
      } catch (e) {
        throw positioned(df, from.pos, `failed to process arguments for platform ${from.platform}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (plat === '') throw positioned(df, from.pos, `empty platform value from expression ${from.platform}`);
    }
    let base: StageBase;
    const named = stageNamed(baseName.toLowerCase());
    if (named !== undefined && named < st.index) base = { kind: 'stage', index: named };
    else if (baseName === 'scratch') base = { kind: 'scratch' };
    else base = { kind: 'image', ref: baseName };

    const deps = new Set<number>();
    const sources: StageSource[] = [];
    const resolve = (value: string, ins: Instruction, what: 'copy' | 'mount'): StageRef => {
      let idx: number | undefined;
      try {
        idx = lookupStage(df.stages, value, replaced);
      } catch (e) {
        throw positioned(df, ins.pos, e instanceof Error ? e.message : String(e));
      }
      if (idx === undefined) return { kind: 'image', ref: value };
      if (idx >= st.index && !pendingErrors.has(st.index)) pendingErrors.set(st.index, positioned(df, ins.pos, laterStageError(df.stages, value, st.index, what)));
      return { kind: 'stage', index: idx };
    };
    // a stage a named context replaces is that context: no instructions of its own
    const isReplaced = st.name !== undefined && replaced.has(st.name);
    if (isReplaced) base = { kind: 'image', ref: st.name as string };
    const instructions = isReplaced ? [] : st.instructions;
    instructions.forEach((ins, i) => {
      if (ins.kind === 'COPY' && ins.from !== undefined) {
        const r = resolve(ins.from, ins, 'copy');
        sources.push({ instruction: i, from: ins.from, resolved: r });
        if (r.kind === 'stage') deps.add(r.index);
      }
      if (ins.kind === 'RUN') {
        ins.mounts.forEach((m, mi) => {
          if (m.from === undefined || m.from === '') return;
          const r = resolve(m.from, ins, 'mount');
          sources.push({ instruction: i, mount: mi, from: m.from, resolved: r });
          if (r.kind === 'stage') deps.add(r.index);
        });
      }
    });
    if (base.kind === 'stage') deps.add(base.index);
    stages.push({
      index: st.index,
      name: st.name,
      base,
      baseName,
      platform: plat,
      dependsOn: [...deps].sort((a, b) => a - b),
      needed: false,
      from,
      instructions,
      sources,
      pos: st.pos,
    });
  }

  // Target.
  let target = stages.length - 1;
  if (opts.target !== undefined && opts.target !== '') {
    const t = opts.target.toLowerCase();
    const byN = byName.get(t);
    // by name only, as BuildKit: `--target 0` or `stage-0` name no stage
    if (byN !== undefined) target = byN;
    else throw new UserError(`target stage ${JSON.stringify(opts.target)} could not be found`);
  }

  // Cycles, over all stages, before anything is built (BuildKit's hasCircularDependency):
  // reported on the first stage, in order, from which a cycle is reachable.
  const visited = new Set<number>();
  const onPath = new Set<number>();
  const cyclic = (i: number): boolean => {
    if (visited.has(i)) return false;
    visited.add(i);
    onPath.add(i);
    for (const d of stages[i]!.dependsOn) {
      if (onPath.has(d) || cyclic(d)) return true;
    }
    onPath.delete(i);
    return false;
  };
  for (const s of stages) {
    if (cyclic(s.index)) throw positioned(df, s.pos, `circular dependency detected on stage: ${label(s.index)}`);
  }

  // Reachability from the target.
  const mark = (i: number) => {
    const s = stages[i]!;
    if (s.needed) return;
    s.needed = true;
    for (const d of s.dependsOn) mark(d);
  };
  mark(target);

  // Errors inside needed stages, in stage order (BuildKit dispatches in order).
  for (const s of stages) {
    const e = pendingErrors.get(s.index);
    if (s.needed && e) throw e;
  }

  // Parallel groups by depth.
  const depth = new Map<number, number>();
  const depthOf = (i: number): number => {
    const known = depth.get(i);
    if (known !== undefined) return known;
    const deps = stages[i]!.dependsOn;
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(depthOf));
    depth.set(i, d);
    return d;
  };
  const order: number[][] = [];
  for (const s of stages) {
    if (!s.needed) continue;
    const d = depthOf(s.index);
    (order[d] ??= []).push(s.index);
  }

  const used = new Set<string>(PLATFORM_ARG_NAMES);
  for (const g of df.globalArgs) for (const a of g.args) used.add(a.key);
  for (const s of stages) {
    if (!s.needed) continue;
    for (const ins of s.instructions) if (ins.kind === 'ARG') for (const a of ins.args) used.add(a.key);
  }
  const unusedBuildArgs = Object.keys(buildArgs)
    .filter((k) => !used.has(k))
    .sort();

  return {
    target,
    stages,
    order: order.filter((g) => g && g.length > 0),
    globalArgs,
    platformArgs: pArgs,
    buildArgs,
    unusedBuildArgs,
    platform,
    buildPlatform,
  };
}
