/**
 * Lint output formats: text (`FILE:LINE:COL RULE level: message`), tty (hadolint's layout, with
 * colour unless NO_COLOR), json (hadolint's fields plus end positions and URL), checkstyle XML,
 * SARIF 2.1.0 (GitHub code scanning), and the rule list.
 * In: lint results. Out: strings. Pure.
 */
import type { LintResult } from './engine.js';
import { LINT_RULES, RULES_BY_ID, type Finding, type Level, type RuleInfo } from './rules.js';

export type LintFormat = 'text' | 'tty' | 'json' | 'checkstyle' | 'sarif';
export const LINT_FORMATS: readonly LintFormat[] = ['text', 'tty', 'json', 'checkstyle', 'sarif'];

const COLOR: Record<Level, string> = { error: '\x1b[31m', warning: '\x1b[33m', info: '\x1b[32m', style: '\x1b[36m' };

export function formatText(results: readonly LintResult[]): string {
  return results.flatMap((r) => r.findings.map((f) => `${f.file}:${f.line}:${f.col} ${f.rule} ${f.level}: ${f.message}\n`)).join('');
}

export function formatTty(results: readonly LintResult[], color: boolean): string {
  return results
    .flatMap((r) =>
      r.findings.map((f) => {
        const lvl = color ? `${COLOR[f.level]}${f.level}\x1b[0m` : f.level;
        const loc = color ? `\x1b[1m${f.file}:${f.line}\x1b[0m` : `${f.file}:${f.line}`;
        return `${loc} ${f.rule} ${lvl}: ${f.message}\n`;
      }),
    )
    .join('');
}

export function formatJson(results: readonly LintResult[]): string {
  const rows = results.flatMap((r) =>
    r.findings.map((f) => ({ file: f.file, line: f.line, column: f.col, endLine: f.endLine, endColumn: f.endCol, code: f.rule, level: f.level, message: f.message, url: f.url })),
  );
  return `${JSON.stringify(rows, null, 2)}\n`;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

export function formatCheckstyle(results: readonly LintResult[]): string {
  let out = "<?xml version='1.0' encoding='UTF-8'?>\n<checkstyle version='4.3'>\n";
  for (const r of results) {
    out += `  <file name='${xml(r.file)}'>\n`;
    for (const f of r.findings) {
      const sev = f.level === 'style' ? 'info' : f.level;
      out += `    <error line='${f.line}' column='${f.col}' severity='${sev}' message='${xml(f.message)}' source='${xml(f.rule)}'/>\n`;
    }
    out += '  </file>\n';
  }
  return `${out}</checkstyle>\n`;
}

const sarifLevel = (l: Level): 'error' | 'warning' | 'note' => (l === 'error' ? 'error' : l === 'warning' ? 'warning' : 'note');

/** SARIF 2.1.0: one run, the rules that fired (plus their metadata), one result per finding. */
export function formatSarif(results: readonly LintResult[], version = '0.1.0'): string {
  const used: RuleInfo[] = [];
  const index = new Map<string, number>();
  for (const r of results)
    for (const f of r.findings) {
      if (index.has(f.rule)) continue;
      index.set(f.rule, used.length);
      used.push(RULES_BY_ID.get(f.rule)!);
    }
  const uri = (file: string) => (file === '-' || file === '<stdin>' ? 'stdin' : file.replace(/\\/g, '/').replace(/^\.\//, '').replace(/ /g, '%20'));
  const doc = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'stagecraft',
            version,
            informationUri: 'https://github.com/stagecraft/stagecraft',
            rules: used.map((r) => ({
              id: r.id,
              shortDescription: { text: r.description },
              helpUri: r.url,
              defaultConfiguration: { level: sarifLevel(r.level) },
              properties: { source: r.source },
            })),
          },
        },
        results: results.flatMap((r) =>
          r.findings.map((f: Finding) => ({
            ruleId: f.rule,
            ruleIndex: index.get(f.rule)!,
            level: sarifLevel(f.level),
            message: { text: f.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: uri(f.file) },
                  region: { startLine: f.line, startColumn: f.col, endLine: f.endLine, endColumn: f.endCol },
                },
              },
            ],
          })),
        ),
      },
    ],
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export function formatResults(results: readonly LintResult[], format: LintFormat, opts: { color?: boolean; version?: string } = {}): string {
  switch (format) {
    case 'json':
      return formatJson(results);
    case 'sarif':
      return formatSarif(results, opts.version);
    case 'checkstyle':
      return formatCheckstyle(results);
    case 'tty':
      return formatTty(results, opts.color ?? false);
    default:
      return formatText(results);
  }
}

/** `lint --list`: the rules as text (id, default level, source, description) or JSON. */
export function formatRuleList(json: boolean): string {
  if (json) return `${JSON.stringify(LINT_RULES.map((r) => ({ id: r.id, source: r.source, level: r.off ? 'ignore' : r.level, experimental: r.experimental ?? false, description: r.description, url: r.url })), null, 2)}\n`;
  const w = Math.max(...LINT_RULES.map((r) => r.id.length));
  return LINT_RULES.map((r) => `${r.id.padEnd(w)}  ${(r.off ? 'ignore' : r.level).padEnd(7)}  ${r.source.padEnd(10)}  ${r.experimental ? '(experimental) ' : ''}${r.description}\n`).join('');
}
