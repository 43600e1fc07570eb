/**
 * Lint configuration, merged from the places hadolint and BuildKit read it:
 * - BuildKit's `# check=skip=A,B;error=true;experimental=C` directive, replaced as a whole by the
 *   `BUILDKIT_DOCKERFILE_CHECK` build arg when that is given (as dockerui does);
 * - hadolint's config file (`.hadolint.yaml`: ignored, override.{error,warning,info,style},
 *   trustedRegistries, label-schema, strict-labels, failure-threshold, disable-ignore-pragma,
 *   no-fail), parsed here from text (finding the file is the CLI's job);
 * - command-line flags (`--ignore`, `--error RULE`, `--failure-threshold`, ...), which win.
 * Pure: text in, options out. Errors are `UserError`s naming the file.
 */
import { UserError } from '../util/errors.js';
import { LEVELS, type Level, type Threshold } from './rules.js';

/** BuildKit's linter.Config. */
export interface CheckConfig {
  skipAll: boolean;
  skip: string[];
  experimentalAll: boolean;
  experimental: string[];
  error: boolean;
}

export const EMPTY_CHECK: CheckConfig = { skipAll: false, skip: [], experimentalAll: false, experimental: [], error: false };

/** BuildKit's linter.ParseLintOptions (wording of its errors included). */
export function parseCheckOptions(s: string): CheckConfig {
  const out: CheckConfig = { ...EMPTY_CHECK, skip: [], experimental: [] };
  const str = s.trim();
  if (str === '') return out;
  const parts = splitN(str, ';', 3);
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq < 0) throw new UserError(`invalid check option "${p}"`);
    const k = p.slice(0, eq).trim();
    const v = p.slice(eq + 1).trim();
    if (k === 'skip') {
      if (v === 'all') out.skipAll = true;
      else out.skip = v.split(',').map((x) => x.trim());
    } else if (k === 'experimental') {
      if (v === 'all') out.experimentalAll = true;
      else out.experimental = v.split(',').map((x) => x.trim());
    } else if (k === 'error') {
      const b = goParseBool(v);
      if (b === undefined) throw new UserError(`failed to parse check option "${p}": strconv.ParseBool: parsing "${v}": invalid syntax`);
      out.error = b;
    } else throw new UserError(`invalid check option "${k}"`);
  }
  return out;
}

function splitN(s: string, sep: string, n: number): string[] {
  const parts = s.split(sep);
  if (parts.length <= n) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

function goParseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** hadolint's config (the subset stagecraft acts on). */
export interface HadolintConfig {
  ignored: string[];
  override: Partial<Record<Level, string[]>>;
  trustedRegistries: string[];
  labelSchema: Record<string, string>;
  strictLabels: boolean;
  failureThreshold?: Threshold;
  disableIgnorePragma: boolean;
  noFail: boolean;
}

export const EMPTY_HADOLINT: HadolintConfig = { ignored: [], override: {}, trustedRegistries: [], labelSchema: {}, strictLabels: false, disableIgnorePragma: false, noFail: false };

type Yaml = string | boolean | null | Yaml[] | { [k: string]: Yaml };

/**
 * A YAML reader for configuration files like hadolint's: block mappings and sequences, flow
 * sequences `[a, b]`, plain/quoted scalars, comments. Anchors, multi-line scalars and flow
 * mappings are rejected with a line number.
 */
export function parseYamlSubset(text: string, file = '.hadolint.yaml'): Yaml {
  const lines: { indent: number; text: string; no: number }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = stripComment(raw);
    if (t.trim() === '' || t.trim() === '---') return;
    lines.push({ indent: raw.length - raw.trimStart().length, text: t.trim(), no: i + 1 });
  });
  let i = 0;
  const fail = (no: number, msg: string): never => {
    throw new UserError(`${file}:${no}: ${msg}`);
  };
  const scalar = (s: string, no: number): Yaml => {
    if (s.startsWith('[')) {
      if (!s.endsWith(']')) fail(no, 'unterminated flow sequence');
      const body = s.slice(1, -1).trim();
      return body === '' ? [] : body.split(',').map((x) => scalar(x.trim(), no));
    }
    if (s.startsWith('{') || s.startsWith('&') || s.startsWith('*') || s === '|' || s === '>') fail(no, `unsupported YAML: ${s}`);
    if ((s.startsWith('"') && s.endsWith('"') && s.length >= 2) || (s.startsWith("'") && s.endsWith("'") && s.length >= 2)) return s.slice(1, -1);
    if (s === 'true' || s === 'false') return s === 'true';
    if (s === '~' || s === 'null' || s === '') return null;
    return s;
  };
  const block = (indent: number): Yaml => {
    if (i >= lines.length) return null;
    if (lines[i]!.text.startsWith('- ') || lines[i]!.text === '-') {
      const arr: Yaml[] = [];
      while (i < lines.length && lines[i]!.indent === indent && (lines[i]!.text.startsWith('- ') || lines[i]!.text === '-')) {
        const l = lines[i]!;
        const rest = l.text.slice(1).trim();
        i++;
        if (rest === '') arr.push(i < lines.length && lines[i]!.indent > indent ? block(lines[i]!.indent) : null);
        else arr.push(scalar(rest, l.no));
      }
      return arr;
    }
    const obj: { [k: string]: Yaml } = {};
    while (i < lines.length && lines[i]!.indent === indent) {
      const l = lines[i]!;
      const m = /^("[^"]*"|'[^']*'|[^:]+?)\s*:(\s+(.*))?$/.exec(l.text);
      if (!m) fail(l.no, `expected "key: value", got ${JSON.stringify(l.text)}`);
      const key = String(scalar(m![1]!, l.no));
      i++;
      const v = m![3]?.trim() ?? '';
      if (v !== '') obj[key] = scalar(v, l.no);
      else if (i < lines.length && lines[i]!.indent > indent) obj[key] = block(lines[i]!.indent);
      else if (i < lines.length && lines[i]!.indent === indent && lines[i]!.text.startsWith('-')) obj[key] = block(indent);
      else obj[key] = null;
    }
    return obj;
  };
  if (lines.length === 0) return {};
  const root = block(lines[0]!.indent);
  if (i < lines.length) fail(lines[i]!.no, 'bad indentation');
  return root;
}

function stripComment(raw: string): string {
  let q: string | undefined;
  for (let k = 0; k < raw.length; k++) {
    const c = raw[k]!;
    if (q) {
      if (c === q) q = undefined;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '#' && (k === 0 || /\s/.test(raw[k - 1]!))) return raw.slice(0, k);
  }
  return raw;
}

const asList = (v: Yaml | undefined): string[] => {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.filter((x) => x !== null).map(String);
  return [String(v)];
};

export function parseThreshold(v: string, where: string): Threshold {
  const t = v.trim().toLowerCase();
  if ((LEVELS as readonly string[]).includes(t) || t === 'ignore' || t === 'none') return t as Threshold;
  throw new UserError(`${where}: invalid failure threshold ${JSON.stringify(v)} (error, warning, info, style, ignore, none)`);
}

/** hadolint's config file text → config. */
export function parseHadolintConfig(text: string, file = '.hadolint.yaml'): HadolintConfig {
  const y = parseYamlSubset(text, file);
  if (y === null) return { ...EMPTY_HADOLINT };
  if (typeof y !== 'object' || Array.isArray(y)) throw new UserError(`${file}: expected a mapping at the top level`);
  const cfg: HadolintConfig = { ...EMPTY_HADOLINT, override: {}, labelSchema: {} };
  cfg.ignored = asList(y.ignored);
  const ov = y.override;
  if (ov && typeof ov === 'object' && !Array.isArray(ov)) {
    for (const l of LEVELS) if (ov[l] !== undefined) cfg.override[l] = asList(ov[l]);
  }
  cfg.trustedRegistries = asList(y.trustedRegistries);
  const ls = y['label-schema'];
  if (ls && typeof ls === 'object' && !Array.isArray(ls)) for (const [k, v] of Object.entries(ls)) cfg.labelSchema[k] = String(v);
  cfg.strictLabels = y['strict-labels'] === true;
  cfg.disableIgnorePragma = y['disable-ignore-pragma'] === true;
  cfg.noFail = y['no-fail'] === true;
  if (typeof y['failure-threshold'] === 'string') cfg.failureThreshold = parseThreshold(y['failure-threshold'], file);
  return cfg;
}

/** The parsed `# hadolint ignore=A,B` / `# hadolint global ignore=A,B` pragma in a comment's text (without `#`). */
export function parseIgnorePragma(comment: string): { global: boolean; rules: string[] } | undefined {
  const m = /^\s*hadolint\s+(global\s+)?ignore\s*=\s*([A-Za-z0-9_,\s]+?)\s*(#.*)?$/.exec(comment);
  if (!m) return undefined;
  return { global: !!m[1], rules: m[2]!.split(',').map((x) => x.trim()).filter((x) => x !== '') };
}
