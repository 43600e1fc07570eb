/**
 * The lint run: model → rule families → configuration (BuildKit's check directive and build arg,
 * hadolint's ignores, pragmas and severity overrides) → findings sorted by position.
 * In: Dockerfile text + `LintOptions`. Out: `LintResult` (findings, the effective check config,
 * and BuildKit's "lint violation" error when `error=true` is set and a check fired). Never throws
 * for anything in the Dockerfile: parse and semantic errors are `InvalidDockerfile` findings.
 * Pure.
 */
import { UserError } from '../util/errors.js';
import { buildkitChecks } from './buildkit.js';
import { EMPTY_CHECK, parseCheckOptions, parseIgnorePragma, type CheckConfig } from './config.js';
import type { RuleContext, RuleOptions, Span } from './context.js';
import { hadolintChecks } from './hadolint.js';
import { buildModel, type LintModel } from './model.js';
import { RULES_BY_ID, type Finding, type Level, type RuleSource } from './rules.js';
import { stagecraftChecks } from './stagecraft.js';

export interface LintOptions {
  /** file name used in findings */
  file?: string;
  /** the stage that ships (default: the last) */
  target?: string;
  buildArgs?: Record<string, string>;
  platformArgs?: Record<string, string>;
  /** check every stage (default: true without a target, as BuildKit's lint) */
  allStages?: boolean;
  /** the context's .dockerignore (CopyIgnoredFile) */
  ignore?: { ignores(rel: string): boolean };
  imageEnv?: (ref: string) => readonly string[] | undefined;
  /** rule families to run (default: all) */
  families?: RuleSource[];
  /** rules never reported (hadolint's `ignored` / `--ignore`) */
  ignored?: string[];
  /** level overrides (hadolint's `override` / `--error RULE` ...) */
  override?: Partial<Record<Level, string[]>>;
  trustedRegistries?: string[];
  labelSchema?: Record<string, string>;
  strictLabels?: boolean;
  disableIgnorePragma?: boolean;
}

export interface LintResult {
  file: string;
  /** the Dockerfile text (for reports that quote it) */
  source: string;
  findings: Finding[];
  check: CheckConfig;
  /** BuildKit's error when `check=error=true` and a build check fired */
  checkError?: string;
}

export function lintText(text: string, opts: LintOptions = {}): LintResult {
  const file = opts.file ?? 'Dockerfile';
  const m = buildModel(text, { file, target: opts.target, buildArgs: opts.buildArgs, platformArgs: opts.platformArgs });
  const raw: Finding[] = [];
  const spanOf = (at: Parameters<RuleContext['report']>[1]): Required<Span> => {
    const pos: Span = 'pos' in at ? at.pos : at;
    const endLine = ('pos' in at ? at.endLine : at.endLine) ?? pos.line;
    const endCol = 'endCol' in at && at.endCol !== undefined ? at.endCol : (m.lines[endLine - 1] ?? '').length + 1;
    return { line: pos.line, col: pos.col, endLine, endCol: Math.max(endCol, endLine === pos.line ? pos.col + 1 : 1) };
  };
  const add = (rule: string, at: Parameters<RuleContext['report']>[1], message: string) => {
    const info = RULES_BY_ID.get(rule);
    if (!info) throw new Error(`lint: unknown rule ${rule}`);
    raw.push({ rule, level: info.level, message, file, ...spanOf(at), url: info.url });
  };

  // the check configuration: the build arg replaces the directive
  let check: CheckConfig = EMPTY_CHECK;
  const argCheck = opts.buildArgs?.BUILDKIT_DOCKERFILE_CHECK;
  const directive = m.directives.find((d) => d.name === 'check');
  try {
    if (argCheck !== undefined) check = parseCheckOptions(argCheck);
    else if (directive) check = parseCheckOptions(directive.value);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    add('InvalidDockerfile', directive ? { line: directive.pos.line, col: directive.pos.col } : { line: 1, col: 1 }, `failed to parse check options: ${e.message}`);
  }

  for (const p of m.problems) add('InvalidDockerfile', { pos: { line: p.line, col: p.col }, endLine: p.endLine }, p.message);
  const families = new Set(opts.families ?? ['buildkit', 'hadolint', 'stagecraft']);
  if (m.parsed && m.stages.length > 0) {
    const ropts: RuleOptions = {
      allStages: opts.allStages ?? !opts.target,
      ignore: opts.ignore,
      imageEnv: opts.imageEnv,
      trustedRegistries: opts.trustedRegistries ?? [],
      labelSchema: opts.labelSchema ?? {},
      strictLabels: opts.strictLabels ?? false,
    };
    const ctx: RuleContext = { m, opts: ropts, report: add };
    if (families.has('buildkit')) buildkitChecks(ctx);
    if (families.has('hadolint')) hadolintChecks(ctx);
    if (families.has('stagecraft')) stagecraftChecks(ctx);
  } else if (m.parsed && m.stages.length === 0 && m.problems.length === 0) {
    add('InvalidDockerfile', { line: 1, col: 1 }, 'dockerfile contains no stages to build');
  }
  if (families.has('hadolint') && m.parsed && !opts.disableIgnorePragma) pragmaUse(m, add);

  // filter and level
  const { inline, global } = pragmas(m, opts.disableIgnorePragma ?? false);
  const ignored = new Set(opts.ignored ?? []);
  const override = new Map<string, Level>();
  for (const l of ['style', 'info', 'warning', 'error'] as Level[]) for (const id of opts.override?.[l] ?? []) override.set(id, l);
  const skip = new Set(check.skip);
  const experimental = new Set(check.experimental);
  const seen = new Set<string>();
  const findings: Finding[] = [];
  for (const f of raw) {
    const info = RULES_BY_ID.get(f.rule)!;
    if (info.source === 'buildkit') {
      if (info.experimental && !(check.experimentalAll || experimental.has(f.rule))) continue;
      if (!info.experimental && (check.skipAll || skip.has(f.rule))) continue;
    } else if (skip.has(f.rule)) continue;
    if (info.off && !override.has(f.rule)) continue;
    if (ignored.has(f.rule) || global.has(f.rule)) continue;
    if (f.rule !== 'InvalidDockerfile' && inline.get(f.line)?.has(f.rule)) continue;
    const key = `${f.rule}\0${f.line}\0${f.col}\0${f.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let level = f.level;
    if (info.source === 'buildkit' && check.error) level = 'error';
    level = override.get(f.rule) ?? level;
    findings.push({ ...f, level });
  }
  findings.sort((a, b) => a.line - b.line || a.col - b.col || a.rule.localeCompare(b.rule) || a.message.localeCompare(b.message));
  let checkError: string | undefined;
  if (check.error) {
    const fired = [...new Set(findings.filter((f) => RULES_BY_ID.get(f.rule)?.source === 'buildkit').map((f) => f.rule))];
    if (fired.length > 0) checkError = `lint violation found for rules: ${fired.join(', ')}`;
  }
  return { file, source: text, findings, check, checkError };
}

/** The image references stages start from (after global-ARG expansion): what `imageEnv` may be asked about. */
export function baseImages(text: string, opts: Pick<LintOptions, 'file' | 'buildArgs' | 'platformArgs'> = {}): string[] {
  const m = buildModel(text, { file: opts.file, buildArgs: opts.buildArgs, platformArgs: opts.platformArgs });
  return [...new Set(m.stages.flatMap((s) => (s.base.kind === 'image' ? [s.base.ref] : [])))];
}

/** `# hadolint ignore=...` on the comment lines right above an instruction, and `global ignore=`. */
function pragmas(m: LintModel, disabled: boolean): { inline: Map<number, Set<string>>; global: Set<string> } {
  const inline = new Map<number, Set<string>>();
  const global = new Set<string>();
  if (disabled) return { inline, global };
  m.lines.forEach((l, i) => {
    const t = l.trim();
    if (!t.startsWith('#')) return;
    const p = parseIgnorePragma(t.slice(1));
    if (p?.global) for (const r of p.rules) global.add(r);
  });
  for (const n of m.nodes) {
    const set = new Set<string>();
    for (let i = n.pos.line - 2; i >= 0; i--) {
      const t = (m.lines[i] ?? '').trim();
      if (!t.startsWith('#')) break;
      const p = parseIgnorePragma(t.slice(1));
      if (p && !p.global) for (const r of p.rules) set.add(r);
    }
    if (set.size > 0) for (let l = n.pos.line; l <= n.endLine; l++) inline.set(l, set);
  }
  return { inline, global };
}

function pragmaUse(m: LintModel, add: (rule: string, at: Span, msg: string) => void): void {
  m.lines.forEach((l, i) => {
    const t = l.trim();
    if (t.startsWith('#') && parseIgnorePragma(t.slice(1)) && !parseIgnorePragma(t.slice(1))!.global) {
      add('DL1001', { line: i + 1, col: l.indexOf('#') + 1 }, 'Please refrain from using inline ignore pragmas `# hadolint ignore=DLxxxx`.');
    }
  });
}

const ORDER: Level[] = ['error', 'warning', 'info', 'style'];
/** hadolint's exit rule: 1 when a finding is at or above the threshold. */
export function failsThreshold(findings: readonly Finding[], threshold: Level | 'ignore' | 'none'): boolean {
  if (threshold === 'none') return false;
  const lim = threshold === 'ignore' ? ORDER.length - 1 : ORDER.indexOf(threshold);
  return findings.some((f) => ORDER.indexOf(f.level) <= lim);
}
