/**
 * Crash safety: SIGKILL stagecraft at random moments while it writes into the store (import of a
 * large rootfs, load, prune), many times. After every kill `system fsck` must report the store clean
 * (it may remove the dead process's temp files) and the next write must succeed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRootfsTar, cli, importBusybox, runCli, tmp } from './helpers/index.js';

function bigRootfs(): string {
  const dir = tmp('sc-big-');
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'data'), { recursive: true });
  // ~48 MiB, half compressible: takes a while to gzip
  for (let i = 0; i < 24; i++) {
    const half = randomBytes(1 << 20);
    writeFileSync(join(tree, 'data', `f${i}`), Buffer.concat([half, Buffer.alloc(1 << 20, i)]));
  }
  const tar = join(dir, 'big.tar');
  execFileSync('tar', ['-C', tree, '-cf', tar, '.']);
  return tar;
}

describe('crash safety', () => {
  it('survives SIGKILL at random points of import/load/prune, every time', async () => {
    const root = tmp();
    await importBusybox(root);
    const big = bigRootfs();
    const archive = join(tmp(), 'bb.tar');
    await cli(['save', 'busybox', '-o', archive], { root });
    // how long an uninterrupted import takes here: kill delays are drawn inside that window, so the
    // kills land mid-import whatever the machine's speed
    const t0 = Date.now();
    await cli(['import', big, 'big:baseline'], { root });
    const importMs = Date.now() - t0;
    let killed = 0;
    let killedImports = 0;
    let midWrite = 0;
    const rounds = 14;
    for (let i = 0; i < rounds; i++) {
      const op = i % 3;
      let delay = op === 0 ? Math.floor(importMs * (0.05 + 0.85 * Math.random())) : 30 + Math.floor(Math.random() * 400);
      const args = op === 0 ? ['import', big, `big:${i}`] : op === 1 ? ['load', '-i', archive] : ['rmi', `big:${i - 2}`];
      let r = await runCli(args, { root, timeoutMs: delay });
      // an import that finished before its kill (this run was faster than the baseline) is tried
      // again, killed earlier: every import round must really be interrupted
      for (let retry = 0; op === 0 && r.code !== 128 && retry < 4; retry++) {
        expect(r.code, r.stderr).toBe(0);
        delay = Math.max(20, Math.floor(delay / 2));
        r = await runCli(args, { root, timeoutMs: delay });
      }
      if (r.code === 128) {
        killed++;
        if (op === 0) killedImports++;
      }
      else expect(r.stderr).not.toMatch(/internal error/);
      const f = await runCli(['system', 'fsck'], { root });
      expect(f.code, `round ${i} (${args.join(' ')}, killed after ${delay}ms):\n${f.stdout}${f.stderr}`).toBe(0);
      expect(f.stdout).toMatch(/is clean/);
      if (/removed stale temp file/.test(f.stdout)) midWrite++;
      // the next write works and every listed image is intact
      await cli(['tag', 'busybox', `after:${i}`], { root });
      const ids = (await cli(['images', '-q'], { root })).stdout.trim().split('\n');
      for (const id of new Set(ids)) await cli(['inspect', id], { root });
    }
    expect(killedImports).toBe(Math.ceil(rounds / 3));
    expect(midWrite).toBeGreaterThan(0); // some kills really landed in the middle of a blob write
    console.log(`[crash] ${killed}/${rounds} killed (${killedImports} imports of ${importMs}ms), ${midWrite} mid-write`);
    await cli(['import', busyboxRootfsTar(), 'final:ok'], { root });
    expect((await cli(['system', 'fsck'], { root })).stdout).toMatch(/is clean/);
  }, 600_000);
});
