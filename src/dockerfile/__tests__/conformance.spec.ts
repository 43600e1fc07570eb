/**
 * BuildKit's own parser golden files and shell-expansion tables, read from
 * ../shared/conformance/buildkit (never copied into this repo).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpAst, parseAst, ShellLex } from '../index.js';
import { UserError } from '../../util/errors.js';

const REPO = path.resolve(import.meta.dirname, '..', '..', '..');
const BK = path.resolve(REPO, '..', 'shared', 'conformance', 'buildkit');

describe('BuildKit parser golden files (testfiles)', () => {
  const cases = readdirSync(path.join(BK, 'testfiles')).sort();
  it('has all 33 cases', () => expect(cases).toHaveLength(33));
  for (const c of cases) {
    it(c, () => {
      const text = readFileSync(path.join(BK, 'testfiles', c, 'Dockerfile'), 'utf8');
      const expected = readFileSync(path.join(BK, 'testfiles', c, 'result'), 'utf8');
      expect(dumpAst(parseAst(text, { file: 'Dockerfile' }))).toBe(expected);
    });
  }
});

describe('BuildKit parser negative files (testfiles-negative)', () => {
  const cases = readdirSync(path.join(BK, 'testfiles-negative')).sort();
  it('has all 4 cases', () => expect(cases).toHaveLength(4));
  for (const c of cases) {
    it(c, () => {
      const text = readFileSync(path.join(BK, 'testfiles-negative', c, 'Dockerfile'), 'utf8');
      let err: unknown;
      try {
        parseAst(text, { file: 'Dockerfile' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).format()).toMatch(/^Dockerfile:\d+:\d+: \S/);
    });
  }
});

describe('BuildKit source positions (testfile-line)', () => {
  it('spans lines 5..31 with instructions at (5,5), (11,12), (17,31)', () => {
    const text = readFileSync(path.join(BK, 'testfile-line', 'Dockerfile'), 'utf8');
    const ast = parseAst(text);
    expect(ast.nodes.map((n) => [n.pos.line, n.endLine])).toEqual([
      [5, 5],
      [11, 12],
      [17, 31],
    ]);
    expect(ast.nodes[0]!.pos.line).toBe(5);
    expect(ast.nodes[ast.nodes.length - 1]!.endLine).toBe(31);
    expect(ast.nodes.every((n) => n.pos.col === 1)).toBe(true);
  });
});

const ENV = { PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' };

describe('BuildKit shell expansion (envVarTest, A and U cases)', () => {
  const lines = readFileSync(path.join(BK, 'shell', 'envVarTest'), 'utf8').split('\n');
  const cases: { platform: string; input: string; expected: string; line: number }[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === '' || l.startsWith('#')) return;
    const parts = l.split('|');
    if (parts.length !== 3) throw new Error(`bad envVarTest line ${i + 1}: ${l}`);
    const [platform, input, expected] = parts.map((p) => p.trim()) as [string, string, string];
    if (platform === 'A' || platform === 'U') cases.push({ platform, input, expected, line: i + 1 });
  });
  it('has the A and U cases', () => expect(cases.length).toBeGreaterThan(200));
  const lex = new ShellLex('\\');
  for (const c of cases) {
    it(`line ${c.line}: ${c.input}`, () => {
      if (c.expected === 'error') {
        expect(() => lex.processWord(c.input, ENV)).toThrow(UserError);
      } else {
        expect(lex.processWord(c.input, new Map(Object.entries(ENV)))).toBe(c.expected);
      }
    });
  }
});

describe('BuildKit word splitting (wordsTest)', () => {
  const lines = readFileSync(path.join(BK, 'shell', 'wordsTest'), 'utf8').split('\n');
  const env: Record<string, string> = {};
  const lex = new ShellLex('\\');
  let n = 0;
  lines.forEach((l, i) => {
    if (l.trim() === '' || l.startsWith('#')) return;
    if (l.startsWith('ENV ')) {
      const kv = l.slice(4);
      const eq = kv.indexOf('=');
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
      return;
    }
    const parts = l.split('|');
    if (parts.length !== 2) throw new Error(`bad wordsTest line ${i + 1}: ${l}`);
    const input = parts[0]!.trim();
    const expected = parts[1]!.trimStart();
    const snapshot = { ...env };
    n++;
    it(`line ${i + 1}: ${input}`, () => {
      if (expected === 'error') {
        expect(() => lex.processWords(input, snapshot)).toThrow(UserError);
      } else {
        expect(lex.processWords(input, snapshot)).toEqual(expected.split(',').map((w) => w.trimStart()));
      }
    });
  });
  it('has 24 cases', () => expect(n).toBe(24));
});
