/**
 * SIGKILL of `run`: the container's state comes from its processes. While the container's process
 * lives, `ps -a` reports it running; `stop` and `rm -f` reach it and end it (docker: killing the
 * client leaves the container to the daemon, here to its runtime process).
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, REPO, cli, importBusybox, isRoot, runCli, tmp } from './helpers/index.js';
import { RUNTIMES, hasRuntime } from './helpers/runtimes.js';

/** Live (non-zombie) pids whose command line is exactly `cmd`. */
function pidsOf(cmd: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() === cmd) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(50);
  }
}

// a failed run must not leave its container's process behind for the next run or spec
const markers: string[] = [];
afterAll(() => {
  for (const m of markers) for (const pid of pidsOf(m)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
});

describe.runIf(isRoot).each(RUNTIMES.filter(hasRuntime))('SIGKILL of run (%s)', (runtime) => {
  it('the container stays running while its process lives; stop and rm -f end it', async () => {
    const root = tmp('sc-runkill-');
    await importBusybox(root);
    for (const [name, end] of [['k-stop', 'stop'], ['k-rm', 'rm']] as const) {
      // unique per run: a process left by an earlier, failed run must not satisfy the wait below
      const marker = `sleep ${30_000_000 + Math.floor(Math.random() * 9_000_000)}${end === 'stop' ? 1 : 2}`;
      expect(pidsOf(marker)).toEqual([]);
      markers.push(marker);
      const p = spawn(process.execPath, [CLI, 'run', '--runtime', runtime, '--name', name, 'busybox', ...marker.split(' ')], {
        cwd: REPO, env: { ...process.env, STAGECRAFT_ROOT: root }, stdio: 'ignore',
      });
      await until(() => pidsOf(marker).length > 0);
      p.kill('SIGKILL');
      await new Promise((r) => p.once('close', r));
      await sleep(300);
      expect(pidsOf(marker).length).toBe(1);
      const ps = await cli(['ps', '-a', '--format', '{{.Names}} {{.Status}}'], { root });
      expect(ps.stdout).toMatch(new RegExp(`^${name} Up`, 'm'));
      const r = end === 'stop' ? await runCli(['stop', '-t', '1', name], { root }) : await runCli(['rm', '-f', name], { root });
      expect(r.code, r.stderr).toBe(0);
      await until(() => pidsOf(marker).length === 0, 5000);
      const after = await cli(['ps', '-a', '--format', '{{.Names}} {{.Status}}'], { root });
      if (end === 'stop') {
        expect(after.stdout).toMatch(new RegExp(`^${name} Exited`, 'm'));
        expect((await runCli(['rm', name], { root })).code).toBe(0);
      } else expect(after.stdout).not.toContain(name);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(root);
    }
  }, 120_000);
});
