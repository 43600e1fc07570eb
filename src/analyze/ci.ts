/**
 * dive's CI gate: its three rules (lowestEfficiency, highestWastedBytes, highestUserWastedPercent),
 * their defaults (0.9, disabled, 0.1), the `.dive-ci` YAML file (dive's keys, camelCase or kebab-case,
 * values `disabled`/`off`/`false`/empty turn a rule off), dive's messages and the report dive prints
 * in CI mode (Analysis / Inefficient Files / Evaluation, then `PASS|FAIL [pass:N fail:N skip:N]`).
 * In: a `DiveAnalysis` and rule values; out: results and text. Reading the file is the CLI's job.
 */
import { UserError } from '../util/errors.js';
import { humanizeBytes, parseHumanBytes, type DiveAnalysis } from './dive.js';

export type CiRuleKey = 'lowestEfficiency' | 'highestWastedBytes' | 'highestUserWastedPercent';
export type CiRules = Record<CiRuleKey, string>;
export const DEFAULT_CI_RULES: CiRules = { lowestEfficiency: '0.9', highestWastedBytes: 'disabled', highestUserWastedPercent: '0.1' };

export type CiStatus = 'PASS' | 'FAIL' | 'SKIP';
export interface CiRuleResult {
  rule: CiRuleKey;
  status: CiStatus;
  message: string;
}
export interface CiEvaluation {
  pass: boolean;
  rules: CiRules;
  results: CiRuleResult[];
  tally: { pass: number; fail: number; skip: number };
}

const KEYS: Record<string, CiRuleKey> = {
  lowestefficiency: 'lowestEfficiency',
  'lowest-efficiency': 'lowestEfficiency',
  'lowest-efficiency-threshold': 'lowestEfficiency',
  highestwastedbytes: 'highestWastedBytes',
  'highest-wasted-bytes': 'highestWastedBytes',
  highestuserwastedpercent: 'highestUserWastedPercent',
  'highest-user-wasted-percent': 'highestUserWastedPercent',
};

function unquote(v: string): string {
  const t = v.trim();
  if ((t.startsWith('"') && t.endsWith('"') && t.length >= 2) || (t.startsWith("'") && t.endsWith("'") && t.length >= 2)) return t.slice(1, -1);
  return t.replace(/\s+#.*$/, '').trim();
}

/**
 * The rules of a `.dive-ci` file: a YAML mapping with a `rules:` mapping of scalars (the subset dive's
 * files use). Unknown keys are ignored, as viper does; a line that is not `key: value` is an error
 * naming file:line:col.
 */
export function parseDiveCi(text: string, file = '.dive-ci'): Partial<CiRules> {
  const out: Partial<CiRules> = {};
  let inRules = false;
  let rulesIndent = -1;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\uFEFF/, '');
    if (/^\s*(#.*)?$/.test(line) || line === '---') return;
    const tab = line.search(/^\s*\t/);
    if (tab >= 0) throw new UserError(`failed to unmarshal CI config file ${file}: yaml: line ${i + 1}: found character that cannot start any token`, { pos: { file, line: i + 1, col: line.indexOf('\t') + 1 } });
    const m = /^(\s*)([^:#\s][^:]*?)\s*:(?:\s+(.*))?$/.exec(line) ?? /^(\s*)([^:#\s][^:]*?)\s*:()$/.exec(line);
    if (!m) throw new UserError(`failed to unmarshal CI config file ${file}: yaml: line ${i + 1}: could not find expected ':'`, { pos: { file, line: i + 1, col: line.search(/\S/) + 1 } });
    const indent = m[1].length;
    const key = unquote(m[2]);
    const value = m[3] === undefined ? '' : m[3];
    if (indent === 0) {
      inRules = key === 'rules' && unquote(value) === '';
      rulesIndent = -1;
      return;
    }
    if (!inRules) return;
    if (rulesIndent < 0) rulesIndent = indent;
    if (indent !== rulesIndent) return; // deeper nesting: not a rule
    const k = KEYS[key.toLowerCase()];
    if (k) out[k] = unquote(value);
  });
  return out;
}

function isDisabled(v: string): boolean {
  const t = v.trim().toLowerCase();
  return t === '' || t === 'disabled' || t === 'off' || t === 'false';
}

function parseGoFloat(v: string): number {
  const t = v.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && !/^[+-]?(inf|infinity|nan)$/i.test(t)) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(/nan/i.test(t) ? NaN : /inf/i.test(t) ? (t.startsWith('-') ? -Infinity : Infinity) : t);
}

/** Go's %v for a float64 (shortest representation). */
function goFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const s = String(x);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Go's %.2f, with Go's spelling of NaN and infinities. */
function goFixed2(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  return x.toFixed(2);
}

/** Checks rule values as dive does when it loads its config; the error names the rule and the value. */
export function validateCiRules(rules: CiRules): void {
  const errs: string[] = [];
  for (const key of ['lowestEfficiency', 'highestUserWastedPercent'] as const) {
    const v = rules[key];
    if (isDisabled(v)) continue;
    let x: number;
    try {
      x = parseGoFloat(v);
    } catch (e) {
      errs.push(`invalid ${key} config value, given ${JSON.stringify(v)}: ${(e as Error).message}`);
      continue;
    }
    if (x < 0 || x > 1) errs.push(`${key} config value is outside allowed range (0-1), given '${x.toFixed(6)}'`);
  }
  if (!isDisabled(rules.highestWastedBytes)) {
    try {
      parseHumanBytes(rules.highestWastedBytes);
    } catch (e) {
      errs.push(`invalid highestWastedBytes config value, given ${JSON.stringify(rules.highestWastedBytes)}: ${(e as Error).message}`);
    }
  }
  if (errs.length) throw new UserError(errs.join('; '));
}

export function evaluateCi(a: DiveAnalysis, rules: CiRules): CiEvaluation {
  validateCiRules(rules);
  const results: CiRuleResult[] = [];
  const rule = (key: CiRuleKey, failed: () => string | undefined): void => {
    const v = rules[key];
    if (isDisabled(v)) {
      results.push({ rule: key, status: 'SKIP', message: 'disabled' });
      return;
    }
    const msg = failed();
    results.push(msg === undefined ? { rule: key, status: 'PASS', message: v } : { rule: key, status: 'FAIL', message: msg });
  };
  rule('lowestEfficiency', () => {
    const t = parseGoFloat(rules.lowestEfficiency);
    return t > a.efficiency ? `image efficiency is too low (efficiency=${goFixed2(a.efficiency)} < threshold=${goFloat(t)})` : undefined;
  });
  rule('highestWastedBytes', () => {
    const t = parseHumanBytes(rules.highestWastedBytes);
    return a.wastedBytes > t ? `too many bytes wasted (wasted-bytes=${a.wastedBytes} > threshold=${t})` : undefined;
  });
  rule('highestUserWastedPercent', () => {
    const t = parseGoFloat(rules.highestUserWastedPercent);
    return a.userWastedPercent > t ? `too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=${goFixed2(a.userWastedPercent)} > threshold=${goFloat(t)})` : undefined;
  });
  results.sort((x, y) => (x.rule < y.rule ? -1 : x.rule > y.rule ? 1 : 0));
  const tally = { pass: 0, fail: 0, skip: 0 };
  for (const r of results) tally[r.status === 'PASS' ? 'pass' : r.status === 'FAIL' ? 'fail' : 'skip']++;
  return { pass: tally.fail === 0, rules, results, tally };
}

/** The report dive prints with --ci (its sections, labels, column layout and summary line). */
export function renderCiReport(a: DiveAnalysis, ev: CiEvaluation): string {
  const kv = (k: string, v: string): string => `  ${`${k}:`.padEnd(18)} ${v}`;
  const out: string[] = [];
  out.push(
    [
      'Analysis:',
      kv('efficiency', `${goFixed2(a.efficiency * 100)} %`),
      kv('wastedBytes', `${a.wastedBytes} bytes ${a.wastedBytes > 0 ? `(${humanizeBytes(a.wastedBytes)})` : ''}`),
      kv('userWastedPercent', a.wastedBytes > 0 ? `${goFixed2(a.userWastedPercent * 100)} %` : '0 %'),
    ].join('\n'),
  );
  if (a.inefficiencies.length === 0) out.push('Inefficient Files: (None)');
  else {
    const row = (c: string, s: string, p: string): string => `  ${c.padEnd(5)}  ${s.padEnd(12)}  ${p}`;
    out.push(['Inefficient Files:', row('Count', 'Wasted Space', 'File Path'), ...a.inefficiencies.map((f) => row(String(f.count), humanizeBytes(f.cumulativeSize), f.path))].join('\n'));
  }
  const parts = (['pass', 'fail', 'skip'] as const).filter((k) => ev.tally[k] > 0).map((k) => `${k}:${ev.tally[k]}`);
  out.push(
    [
      'Evaluation:',
      ...ev.results.map((r) => `  ${r.status}  ${r.rule}${r.message ? ` (${r.message})` : ''}`),
      '',
      `${ev.pass ? 'PASS' : 'FAIL'} [${parts.join(' ')}]`,
    ].join('\n'),
  );
  return `${out.join('\n\n')}\n`;
}
