import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/index.js';

describe('cli', () => {
  it('prints help and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: stagecraft');
  });
  it('rejects an unknown command with one line and a non-zero exit', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
