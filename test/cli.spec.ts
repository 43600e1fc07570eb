import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, MODULES, type ModuleName } from '../src/cli/commands/index.js';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI, runCli, tmp } from './helpers/index.js';

describe('cli', () => {
  it('prints help and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: stagecraft');
    for (const name of ['build', 'run', 'images', 'analyze', 'pull']) expect(r.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });
  it('rejects an unknown command with one line and a non-zero exit', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
  it('the lazy-loading table names every command of every module, and only those', async () => {
    for (const [mod, load] of Object.entries(MODULES)) {
      const program = new Command();
      (await load()).register(program);
      const names = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) expect(COMMANDS[n], `command ${n}`).toBe(mod as ModuleName);
      const listed = Object.entries(COMMANDS).filter(([, m]) => m === mod).map(([n]) => n);
      expect(listed.sort()).toEqual([...names].sort());
    }
  });
  it('a command runs with only its own module loaded', async () => {
    const r = await runCli(['stages', '-f', '-', '--format', 'json'], { input: 'FROM scratch AS a\nFROM a\n' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).target).toBe(1);
  });
});

describe('output through a full pipe', () => {
  it('lint writes all of a large report to a reader that starts late (nothing dropped at exit)', () => {
    const dir = tmp('sc-flush-');
    const df = join(dir, 'Dockerfile');
    writeFileSync(df, ['FROM busybox', ...Array.from({ length: 3000 }, (_, i) => `MAINTAINER someone${i}`), ''].join('\n'));
    const whole = spawnSync(process.execPath, [CLI, 'lint', df], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(whole.stdout.length).toBeGreaterThan(256 * 1024); // several pipe buffers
    // the reader sleeps first: the pipe fills, Node queues the rest in memory
    const late = spawnSync('sh', ['-c', 'node "$1" lint "$2" | (sleep 1; wc -c)', 'sh', CLI, df], { encoding: 'utf8', env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` } });
    expect(Number(late.stdout.trim())).toBe(Buffer.byteLength(whole.stdout));
  });
});
