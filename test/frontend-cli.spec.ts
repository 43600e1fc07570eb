/** `stagecraft parse --dump` and `stagecraft stages`: the command-line contract. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli, tmp } from './helpers/index.js';

const BK = path.resolve(REPO, '..', 'shared', 'conformance', 'buildkit');

function dockerfile(text: string, name = 'Dockerfile'): string {
  const dir = tmp('sc-fe-');
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('stagecraft parse --dump', () => {
  it('prints BuildKit\'s dump for a golden file', async () => {
    for (const c of ['env', 'flags', 'json', 'lk4d4-the-edge-case-generator']) {
      const r = await runCli(['parse', '--dump', path.join(BK, 'testfiles', c, 'Dockerfile')]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(readFileSync(path.join(BK, 'testfiles', c, 'result'), 'utf8'));
    }
  });
  it('a parse error is one line FILE:LINE:COL: message on stderr, exit 1', async () => {
    const f = dockerfile('FROM a\nRUN <<EOF\nnever ends\n');
    const r = await runCli(['parse', '--dump', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${f}:2:1: unterminated heredoc\n`);
  });
  it('without --dump: typed instructions as JSON; unknown instruction is an error', async () => {
    const ok = await runCli(['parse', dockerfile('FROM alpine AS b\nCOPY --from=x a b\n')]);
    expect(ok.code, ok.stderr).toBe(0);
    const j = JSON.parse(ok.stdout);
    expect(j.stages[0].instructions[0]).toMatchObject({ kind: 'COPY', from: 'x', sources: ['a'], dest: 'b', pos: { line: 2, col: 1 } });
    const f = dockerfile('FROM a\n  FORM b\n');
    const bad = await runCli(['parse', f]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`${f}:2:3: unknown instruction: FORM (did you mean FROM?)\n`);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
  it('reads stdin with -', async () => {
    const ok = await runCli(['parse', '--dump', '-'], { input: 'from a\nRUN ["x"]\n' });
    expect(ok.stdout).toBe('(from "a")\n(run "x")\n');
    const bad = await runCli(['stages', '-f', '-'], { input: 'FROM a\n\tFORM b\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('<stdin>:2:2: unknown instruction: FORM (did you mean FROM?)\n');
  });
  it('a missing file is a clean error', async () => {
    const r = await runCli(['parse', '--dump', '/nonexistent/Dockerfile']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('open /nonexistent/Dockerfile: no such file or directory\n');
  });
});

const MULTI = [
  'ARG GO=1.22',
  'FROM golang:${GO} AS deps',
  'FROM deps AS api',
  'RUN --mount=type=cache,target=/root/.cache go build ./api',
  'FROM deps AS web',
  'FROM alpine AS unused',
  'FROM scratch AS final',
  'COPY --from=api /api /api',
  'COPY --from=web /web /web',
  '',
].join('\n');

describe('stagecraft stages', () => {
  it('--format json follows the contract', async () => {
    const f = dockerfile(MULTI);
    const r = await runCli(['stages', '-f', f, '--format', 'json', '--build-arg', 'GO=1.23']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.target).toBe('final');
    expect(j.order).toEqual([[0], [1, 2], [4]]);
    expect(j.stages).toEqual([
      { index: 0, name: 'deps', base: { kind: 'image', ref: 'golang:1.23' }, dependsOn: [], needed: true },
      { index: 1, name: 'api', base: { kind: 'stage', index: 0 }, dependsOn: [0], needed: true },
      { index: 2, name: 'web', base: { kind: 'stage', index: 0 }, dependsOn: [0], needed: true },
      { index: 3, name: 'unused', base: { kind: 'image', ref: 'alpine' }, dependsOn: [], needed: false },
      { index: 4, name: 'final', base: { kind: 'scratch' }, dependsOn: [1, 2], needed: true },
    ]);
  });
  it('--target prunes; default -f is ./Dockerfile', async () => {
    const f = dockerfile(MULTI);
    const r = await runCli(['stages', '--target', 'API', '--format', 'json'], { cwd: path.dirname(f) });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.target).toBe('api');
    expect(j.stages.map((s: { needed: boolean }) => s.needed)).toEqual([true, true, false, false, false]);
    expect(j.order).toEqual([[0], [1]]);
  });
  it('text and dot formats', async () => {
    const f = dockerfile(MULTI);
    const text = await runCli(['stages', '-f', f]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('target: 4 (final)');
    expect(text.stdout).toMatch(/3\s+unused\s+alpine\s+-\s+no \(skipped\)/);
    const dot = await runCli(['stages', '-f', f, '--format', 'dot']);
    expect(dot.stdout).toMatch(/^digraph stages \{/);
    expect(dot.stdout).toContain('stage0 -> stage1 [label="FROM"];');
  });
  it('errors: unknown target, stage defined later, bad format', async () => {
    const f = dockerfile(MULTI);
    const t = await runCli(['stages', '-f', f, '--target', 'nope']);
    expect(t.code).toBe(1);
    expect(t.stderr).toBe('target stage "nope" could not be found\n');
    const g = dockerfile('FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\nFROM a\n');
    const later = await runCli(['stages', '-f', g]);
    expect(later.code).toBe(1);
    expect(later.stderr).toBe(`${g}:2:1: cannot copy from stage "b", it needs to be defined before current stage "a"\n`);
    const fm = await runCli(['stages', '-f', f, '--format', 'yaml']);
    expect(fm.code).toBe(1);
    expect(fm.stderr.trim().split('\n')).toHaveLength(1);
  });
});
