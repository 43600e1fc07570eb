/**
 * Hostile input to the CLI ends in a clear one-line error and a non-zero exit, never "internal
 * error", Node's own text or an exhausted heap: an endless or huge Dockerfile (BuildKit's 16 MiB
 * bound), an ENV chain that doubles 40 times and forty ENVs just under the word bound, 10,000
 * nested `${a:-…}` (built, as BuildKit does), a 40,000-character `images` pattern, a 5,000-deep
 * `--format`, and output paths that cannot be written (`save -o DIR`, `analyze -o /proc/x.html`,
 * `convert -o /proc/x`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, importBusybox, runCli, tmp, type CliResult } from './helpers/index.js';

/** One line on stderr, no internal error, no stack, the given exit code. */
function cleanFailure(r: CliResult, code = 1): string {
  expect(r.code).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('note:') && !/^\s*\d+ \|/.test(l) && !/^-+$/.test(l));
  expect(r.stderr).not.toMatch(/internal error|FATAL|RangeError|    at |^node:/m);
  return lines[lines.length - 1] ?? '';
}

const nested = (n: number): string => {
  let s = 'x';
  for (let i = 0; i < n; i++) s = `\${a:-${s}}`;
  return s;
};

describe('hostile input to the CLI', () => {
  let root: string;
  let dir: string;
  beforeAll(async () => {
    root = tmp('sc-hostile-');
    dir = tmp('sc-hostile-ctx-');
    await importBusybox(root);
  });

  it('a Dockerfile that never ends (/dev/urandom) stops at 16 MiB with BuildKit\'s message', async () => {
    const t = Date.now();
    for (const args of [['parse', '/dev/urandom'], ['lint', '/dev/urandom'], ['build', '--check', '-f', '/dev/urandom', dir]]) {
      const r = await runCli(args, { root, timeoutMs: 30_000 });
      expect(cleanFailure(r)).toMatch(/Dockerfile exceeds maximum allowed size of 16777216 bytes$/);
    }
    expect(Date.now() - t).toBeLessThan(30_000);
    const big = join(dir, 'Big.Dockerfile');
    writeFileSync(big, `FROM scratch\n${'# pad\n'.repeat(3_000_000)}`);
    expect(cleanFailure(await runCli(['parse', big], { root }))).toBe('Dockerfile exceeds maximum allowed size of 16777216 bytes');
  });

  it('40 chained doubling ENV lines fail at the word-length bound with file:line:col', async () => {
    const lines = ['FROM scratch', 'ENV a0=xxxxxxxx'];
    for (let i = 1; i <= 40; i++) lines.push(`ENV a${i}=\${a${i - 1}}\${a${i - 1}}`);
    const f = join(dir, 'Double.Dockerfile');
    writeFileSync(f, `${lines.join('\n')}\n`);
    const r = await runCli(['build', '-f', f, dir], { root, timeoutMs: 60_000 });
    expect(cleanFailure(r)).toBe(`Double.Dockerfile:24:1: failed to process "\${a21}\${a21}": expanded word exceeds the maximum length of 16777216 characters`);
    // each value under the bound, but forty of them: the config's ENV text is bounded too
    const wide = [...lines.slice(0, 23)];
    for (let i = 1; i <= 40; i++) wide.push(`ENV b${i}=\${a21}`);
    writeFileSync(f, `${wide.join('\n')}\n`);
    const w = await runCli(['build', '-f', f, dir], { root, timeoutMs: 60_000 });
    expect(cleanFailure(w)).toBe("Double.Dockerfile:25:1: the image config's ENV and LABEL values exceed the maximum of 67108864 characters");
  });

  it('10,000 nested ${a:-...} build (as BuildKit builds them), and lint and --check pass it', async () => {
    const f = join(dir, 'Nest.Dockerfile');
    writeFileSync(f, `FROM busybox\nENV b=${nested(10_000)}\nLABEL c=${nested(10_000)}\nRUN test "$b" = x\n`);
    const lint = await runCli(['lint', f], { root });
    expect(lint.stdout).toContain('UndefinedVar');
    expect(lint.stderr).toBe('');
    const check = await runCli(['build', '--check', '-f', f, dir], { root });
    expect(check.stderr).not.toMatch(/internal error|ERROR/);
    await cli(['build', '-q', '-f', f, '-t', 'nest:1', dir], { root });
    const env = (await cli(['inspect', '-f', '{{json .Config.Env}} {{json .Config.Labels}}', 'nest:1'], { root })).stdout;
    expect(env).toContain('"b=x"');
    expect(env).toContain('"c":"x"');
  });

  it('images with a 40,000-character pattern lists nothing; a 5,000-deep --format is a parse error', async () => {
    const r = await cli(['images', 'a'.repeat(40_000)], { root });
    expect(r.stdout).toBe('REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n');
    const deep = `${'{{if true}}'.repeat(5000)}x${'{{end}}'.repeat(5000)}`;
    expect(cleanFailure(await runCli(['images', '--format', deep], { root }))).toBe('template parsing error: template: :1: exceeded maximum template depth (1000)');
  });

  it('an output path that cannot be written is a one-line error, before any work', async () => {
    const d = join(dir, 'out-dir');
    mkdirSync(d, { recursive: true });
    expect(cleanFailure(await runCli(['save', '-o', d, 'busybox'], { root }))).toBe(`failed to save image: invalid output path: "${d}" is a directory`);
    expect(cleanFailure(await runCli(['save', '-o', '/nonexistent/x.tar', 'busybox'], { root }))).toBe('failed to save image: invalid output path: directory "/nonexistent" does not exist');
    expect(cleanFailure(await runCli(['save', '-o', '/proc/x.tar', 'busybox'], { root }))).toBe('open /proc/x.tar: no such file or directory');
    expect(cleanFailure(await runCli(['analyze', '-o', '/proc/x.html', '--format', 'html', 'busybox'], { root }))).toBe('failed to write the report: open /proc/x.html: no such file or directory');
    const df = join(dir, 'Single.Dockerfile');
    writeFileSync(df, 'FROM busybox\nCOPY . /app\n');
    expect(cleanFailure(await runCli(['convert', '-o', '/proc/x', df], { root }))).toBe('failed to write the Dockerfile: open /proc/x: no such file or directory');
    expect(cleanFailure(await runCli(['convert', '-o', d, df], { root }))).toBe(`failed to write the Dockerfile: invalid output path: "${d}" is a directory`);
  });
});
