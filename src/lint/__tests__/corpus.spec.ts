/**
 * The real-world corpus (test/fixtures/lint-corpus: >= 100 Dockerfiles nobody here wrote, origins in
 * MANIFEST.tsv): lint never throws, every finding is positioned inside its file, and the hand-checked
 * sample (REVIEW.tsv) is still what the linter reports, with a false-positive rate under 5%.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintText, type Finding } from '../index.js';

const DIR = join(import.meta.dirname, '../../../test/fixtures/lint-corpus');
const files = readdirSync(DIR).filter((f) => f.endsWith('.Dockerfile')).sort();

describe('lint corpus', () => {
  const all: Finding[] = [];
  it('has >= 100 Dockerfiles, each with its origin in MANIFEST.tsv', () => {
    expect(files.length).toBeGreaterThanOrEqual(100);
    const manifest = readFileSync(join(DIR, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
    expect(new Set(manifest.map((r) => r[0]))).toEqual(new Set(files));
    for (const r of manifest) expect(r[1], r[0]).toMatch(/^[\w.-]+\/[\w.-]+$/);
  });
  it('lints every file without a crash; findings are inside the file', () => {
    for (const f of files) {
      const text = readFileSync(join(DIR, f), 'utf8');
      const lines = text.split(/\r?\n/);
      const r = lintText(text, { file: f });
      for (const x of r.findings) {
        expect(x.line, `${f} ${x.rule}`).toBeGreaterThanOrEqual(1);
        expect(x.endLine).toBeLessThanOrEqual(lines.length);
        expect(x.col).toBeLessThanOrEqual((lines[x.line - 1] ?? '').length + 1);
      }
      all.push(...r.findings);
    }
    // the corpus run's counts (docs/LINT.md quotes them)
    expect(all.length).toBeGreaterThan(300);
    expect(all.filter((x) => x.rule === 'InvalidDockerfile').length).toBe(3); // files that do not parse or have no FROM
    // the official python image purges its build dependencies in the compiling RUN: not baggage
    const py = all.filter((x) => x.file === '104-python.Dockerfile').map((x) => x.rule);
    expect(py).not.toContain('CompilerInFinalStage');
    expect(py).not.toContain('DL3009');
    expect(py).toContain('DL3008');
  });
  it('the hand-reviewed sample is what lint reports, and under 5% of it is false positives', () => {
    const rows = readFileSync(join(DIR, 'REVIEW.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
    expect(rows.length).toBeGreaterThanOrEqual(60);
    const reported = new Set(all.map((x) => `${x.file}:${x.line}:${x.col} ${x.rule} ${x.level}: ${x.message}`));
    for (const r of rows) expect(reported.has(r[1]!), r[1]).toBe(true);
    const fp = rows.filter((r) => r[2] === 'FP').length;
    expect(rows.every((r) => r[2] === 'TP' || r[2] === 'FP')).toBe(true);
    expect(fp / rows.length).toBeLessThan(0.05);
  });
});
