/**
 * `stagecraft lint` end to end: output formats (text, tty, json, checkstyle, SARIF 2.1.0 validated
 * against the SARIF schema with Python's jsonschema), several files in one call, `-` for stdin,
 * `--list [--format json]`, hadolint's exit codes and config lookup, --context for .dockerignore.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tmp } from './helpers/index.js';

const SCHEMA = join(import.meta.dirname, 'fixtures/sarif/sarif-schema-2.1.0.subset.json');
const dir = tmp('sc-lint-');
const home = join(dir, 'home');
mkdirSync(home);
const env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), NO_COLOR: '1' };
const A = join(dir, 'A.Dockerfile');
const B = join(dir, 'B.Dockerfile');
writeFileSync(A, 'FROM debian:12\nRUN apt-get update && apt-get install -y curl\nCMD echo hi\n');
writeFileSync(B, 'FROM alpine:3.20 AS build\nWORKDIR /src\nFROM alpine:3.20\nCOPY --from=build /src /src\n');

const hasJsonschema = (() => {
  try {
    execFileSync('python3', ['-c', 'import jsonschema'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Validates `doc` against the SARIF schema (draft-07, with uri formats checked); returns the errors. */
function sarifErrors(doc: string): string[] {
  const py = `
import json, re, sys
from jsonschema import Draft7Validator, FormatChecker
fc = FormatChecker()
@fc.checks("uri")
def uri(v): return isinstance(v, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\\s]*$", v) is not None
@fc.checks("uri-reference")
def uriref(v): return isinstance(v, str) and re.match(r"^[^\\s]*$", v) is not None
schema = json.load(open(sys.argv[1]))
Draft7Validator.check_schema(schema)
errs = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in Draft7Validator(schema, format_checker=fc).iter_errors(json.load(sys.stdin))]
print(json.dumps(errs))
`;
  return JSON.parse(execFileSync('python3', ['-c', py, SCHEMA], { input: doc, encoding: 'utf8' })) as string[];
}

describe('lint output', () => {
  it('text: FILE:LINE:COL RULE level: message, several files in one call, exit 1 at the default threshold', async () => {
    const r = await runCli(['lint', A, B], { env });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain(`${A}:2:1 DL3008 warning: Pin versions in apt get install. Instead of \`apt-get install <package>\` use \`apt-get install <package>=<version>\``);
    expect(lines).toContain(`${A}:3:1 JSONArgsRecommended warning: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals`);
    expect(lines.some((l) => l.startsWith(`${B}:4:1 CopyWholeStage info: `))).toBe(true);
    for (const l of lines) expect(l).toMatch(/^\S+:\d+:\d+ [A-Za-z0-9]+ (error|warning|info|style): /);
  });
  it('- reads stdin', async () => {
    const r = await runCli(['lint', '-'], { env, input: 'FROM alpine:3.20\nMAINTAINER me\n' });
    expect(r.stdout).toContain('-:2:1 MaintainerDeprecated warning: Maintainer instruction is deprecated in favor of using label');
    expect(r.code).toBe(1);
  });
  it('json, checkstyle and tty', async () => {
    const j = JSON.parse((await runCli(['lint', '-f', 'json', A], { env })).stdout) as Array<Record<string, unknown>>;
    expect(j.find((x) => x.code === 'DL3008')).toEqual({ file: A, line: 2, column: 1, endLine: 2, endColumn: 46, code: 'DL3008', level: 'warning', message: expect.any(String), url: 'https://github.com/hadolint/hadolint/wiki/DL3008' });
    const cs = (await runCli(['lint', '--format', 'checkstyle', A, B], { env })).stdout;
    expect(cs).toMatch(/^<\?xml version='1\.0' encoding='UTF-8'\?>\n<checkstyle version='4\.3'>/);
    expect(cs).toContain(`<file name='${A}'>`);
    expect(cs).toContain("<error line='2' column='1' severity='warning' message='Pin versions in apt get install.");
    expect(cs).toContain("source='DL3008'/>");
    const tty = (await runCli(['lint', '--format', 'tty', A], { env })).stdout;
    expect(tty).toContain(`${A}:2 DL3008 warning: Pin versions`);
  });
  it.skipIf(!hasJsonschema)('SARIF 2.1.0 validates against the schema (and a broken document does not)', async () => {
    const r = await runCli(['lint', '--format', 'sarif', A, B, '-'], { env, input: 'FROM alpine:3.20\nADD notes.txt /n\n' });
    const doc = JSON.parse(r.stdout) as { version: string; runs: Array<{ tool: { driver: { rules: Array<{ id: string }> } }; results: Array<{ ruleId: string; ruleIndex: number; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }> }> }> };
    expect(sarifErrors(r.stdout)).toEqual([]);
    expect(doc.version).toBe('2.1.0');
    const run = doc.runs[0]!;
    for (const res of run.results) expect(run.tool.driver.rules[res.ruleIndex]!.id).toBe(res.ruleId);
    const uris = new Set(run.results.map((x) => x.locations[0]!.physicalLocation.artifactLocation.uri));
    expect(uris).toEqual(new Set([A, B, 'stdin']));
    // the validator can fail
    const broken = JSON.parse(r.stdout) as { runs: Array<{ results: Array<{ level: string; locations: Array<{ physicalLocation: { region: { startLine: number } } }> }> }> };
    broken.runs[0]!.results[0]!.level = 'fatal';
    broken.runs[0]!.results[0]!.locations[0]!.physicalLocation.region.startLine = 0;
    expect(sarifErrors(JSON.stringify(broken)).length).toBe(2);
  });
  it('--list and --list --format json', async () => {
    const t = await runCli(['lint', '--list'], { env });
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^JSONArgsRecommended +warning +buildkit +JSON arguments recommended/m);
    expect(t.stdout).toMatch(/^DL3057 +ignore +hadolint /m);
    const j = JSON.parse((await runCli(['lint', '--list', '--format', 'json'], { env })).stdout) as Array<{ id: string; source: string; url: string }>;
    expect(j.filter((r) => r.source === 'buildkit').length).toBeGreaterThanOrEqual(22);
    expect(j.find((r) => r.id === 'CopyIgnoredFile')?.url).toBe('https://docs.docker.com/go/dockerfile/rule/copy-ignored-file/');
    expect(j.some((r) => /^SC\d/.test(r.id))).toBe(false);
  });
});

describe('lint exit codes and configuration (hadolint semantics)', () => {
  it('--failure-threshold, --no-fail, --ignore, --error', async () => {
    expect((await runCli(['lint', '-t', 'error', B], { env })).code).toBe(0);
    expect((await runCli(['lint', '-t', 'info', B], { env })).code).toBe(1);
    expect((await runCli(['lint', '--no-fail', A], { env })).code).toBe(0);
    const ig = await runCli(['lint', '--ignore', 'DL3008', '--ignore', 'JSONArgsRecommended', A], { env });
    expect(ig.stdout).not.toContain('DL3008');
    expect(ig.stdout).not.toContain('JSONArgsRecommended');
    const up = await runCli(['lint', '--error', 'DL3015', A], { env });
    expect(up.stdout).toContain(':2:1 DL3015 error: ');
    const bad = await runCli(['lint', '-t', 'loud', A], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('finds .hadolint.yaml in the working directory first, -c names one', async () => {
    const cwd = join(dir, 'proj');
    mkdirSync(cwd);
    writeFileSync(join(cwd, '.hadolint.yaml'), 'ignored: [DL3008]\nfailure-threshold: error\n');
    writeFileSync(join(home, '.hadolint.yaml'), 'ignored: [DL3015]\n');
    const r = await runCli(['lint', A], { env, cwd });
    expect(r.stdout).not.toContain('DL3008');
    expect(r.stdout).toContain('DL3015');
    expect(r.code).toBe(0);
    const h = await runCli(['lint', A], { env });
    expect(h.stdout).toContain('DL3008');
    expect(h.stdout).not.toContain('DL3015');
    writeFileSync(join(dir, 'c.yml'), 'override:\n  error:\n    - DL3009\n');
    expect((await runCli(['lint', '-c', join(dir, 'c.yml'), A], { env })).stdout).toContain(':2:1 DL3009 error: ');
    const missing = await runCli(['lint', '-c', join(dir, 'nope.yaml'), A], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.yaml');
  });
  it('--context: CopyIgnoredFile (experimental) reads the context .dockerignore', async () => {
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, '.dockerignore'), 'secrets/\n');
    writeFileSync(join(ctx, 'Dockerfile'), '# check=experimental=CopyIgnoredFile\nFROM alpine:3.20\nCOPY secrets/key /k\n');
    const r = await runCli(['lint', '--context', ctx, join(ctx, 'Dockerfile')], { env });
    expect(r.stdout).toContain(':3:1 CopyIgnoredFile warning: Attempting to Copy file "secrets/key" that is excluded by .dockerignore');
  });
  it('a file that is not a Dockerfile is a positioned finding; a missing file is a one-line error', async () => {
    const p = join(dir, 'notes.txt');
    writeFileSync(p, 'hello world\n');
    const r = await runCli(['lint', p], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:1 InvalidDockerfile error: `, 'm'));
    const m = await runCli(['lint', join(dir, 'none')], { env });
    expect(m.code).toBe(1);
    expect(m.stderr.trim().split('\n')).toHaveLength(1);
  });
});
