/**
 * Build cache records are written the way the rest of the store is (writeFileAtomic): the record's
 * bytes are fsynced before the rename that publishes it, and its directory after, so a power cut
 * cannot leave an empty record that the next build takes for a hit. Shown on the real syscalls of a
 * real build (strace -f -y: every fsync names the file its fd is open on).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cli, importBusybox, isRoot, runCollect, tmp } from './helpers/index.js';
import { context } from './helpers/build.js';
import { findHostBinary } from '../src/worker/exec/hostbin.js';

describe.runIf(isRoot)('build cache records', () => {
  it('are fsynced before they are renamed into buildcache/, and the directory after', async () => {
    const strace = findHostBinary('strace');
    expect(strace, 'strace is needed (apt-get install strace)').toBeTruthy();
    const root = tmp('sc-cachedur-');
    await importBusybox(root);
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo one > /one\nCOPY f /f\n', f: 'x\n' });
    const log = join(tmp('sc-cachedur-log-'), 'strace.log');
    const r = await runCollect(
      strace!,
      ['-f', '-qq', '-y', '-s', '4096', '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2', '-o', log, process.execPath, CLI, 'build', '-q', '-t', 'cd:1', ctx],
      { env: { ...process.env, STAGECRAFT_ROOT: root }, timeoutMs: 120_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const records = join(root, 'buildcache');
    expect(readdirSync(records).filter((n) => n.endsWith('.json')).length).toBeGreaterThanOrEqual(2);
    // one line per syscall (strace -f -qq: "PID syscall(args) = ret"; a call cut by another thread
    // is printed as "<unfinished ...>" and "<... resumed>": keep the start, it has the arguments)
    const lines = readFileSync(log, 'utf8').split('\n').map((l) => l.replace(/^\d+\s+/, ''));
    const renames = lines
      .map((l, i) => ({ i, m: /^rename(?:at2?)?\((?:[^,]*, )?"([^"]+)", (?:[^,]*, )?"([^"]+)"/.exec(l) }))
      .filter((x) => x.m && x.m[2]!.startsWith(`${records}/`));
    expect(renames.length).toBeGreaterThanOrEqual(2);
    for (const { i, m } of renames) {
      const [, from] = m!;
      const before = lines.slice(0, i).some((l) => /^f(?:data)?sync\(\d+</.test(l) && l.includes(`<${from}>`));
      expect(before, `no fsync of ${from} before its rename`).toBe(true);
      const after = lines.slice(i + 1).some((l) => /^fsync\(\d+</.test(l) && l.includes(`<${records}>`));
      expect(after, `no fsync of ${records} after the rename of ${from}`).toBe(true);
    }
    // what an older version left when killed mid-write (KEY.json.PID.RAND.tmp beside the records):
    // fsck removes it once its writer is dead
    const dead = spawnSync('true').pid;
    const old = join(records, `${'ab'.repeat(32)}.json.${dead}.0123abcd.tmp`);
    writeFileSync(old, '');
    await cli(['system', 'fsck'], { root });
    expect(existsSync(old)).toBe(false);
  }, 180_000);
});
