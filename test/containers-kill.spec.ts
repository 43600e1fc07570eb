/**
 * SIGKILL of `run`: the container's state comes from its processes. While the container's process
 * lives, `ps -a` reports it running; `stop` and `rm -f` reach it and end it (docker: killing the
 * client leaves the container to the daemon, here to its runtime process).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, REPO, cli, importBusybox, isRoot, runCli, tmp } from './helpers/index.js';
import { OCI_RUNTIMES, RUNTIMES, hasRuntime } from './helpers/runtimes.js';

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

/** Cgroup directories (any hierarchy, a few levels down) whose name ends with `suffix`. */
function cgroupDirs(suffix: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return;
    }
    for (const n of names) {
      if (n.endsWith(suffix)) out.push(`${dir}/${n}`);
      if (depth > 0) walk(`${dir}/${n}`, depth - 1);
    }
  };
  walk('/sys/fs/cgroup', 5);
  return out;
}

describe.runIf(isRoot).each(OCI_RUNTIMES.filter(hasRuntime))('SIGKILL of run and its runtime (%s)', (runtime) => {
  it('the container is running while its cgroup has a process; rm refuses, stop and rm -f end it and its cgroups go', async () => {
    const root = tmp('sc-rtkill-');
    await importBusybox(root);
    for (const end of ['stop', 'rm'] as const) {
      const name = `k-rt-${end}`;
      const marker = `sleep ${40_000_000 + Math.floor(Math.random() * 9_000_000)}${end === 'stop' ? 1 : 2}`;
      markers.push(marker);
      const p = spawn(process.execPath, [CLI, 'run', '--runtime', runtime, '--name', name, 'busybox', ...marker.split(' ')], {
        cwd: REPO, env: { ...process.env, STAGECRAFT_ROOT: root }, stdio: 'ignore',
      });
      await until(() => pidsOf(marker).length > 0);
      const id = (await cli(['ps', '--filter', `name=${name}`, '--format', '{{.ID}}'], { root })).stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      expect(cgroupDirs(`-${id}`).length).toBeGreaterThan(0);
      // what a service manager or a CI job does to a process tree: the supervisor and the runtime die
      const runtimes = readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      p.kill('SIGKILL');
      for (const r of runtimes) try { process.kill(r, 'SIGKILL'); } catch { /* gone */ }
      await new Promise((r) => p.once('close', r));
      await sleep(300);
      expect(pidsOf(marker).length).toBe(1);
      const ps = await cli(['ps', '-a', '--format', '{{.Names}} {{.Status}}'], { root });
      expect(ps.stdout).toMatch(new RegExp(`^${name} Up`, 'm'));
      const rm = await runCli(['rm', name], { root });
      expect(rm.code).not.toBe(0);
      expect(rm.stderr).toMatch(/container is running/);
      expect(pidsOf(marker).length).toBe(1);
      const r = end === 'stop' ? await runCli(['stop', '-t', '1', name], { root }) : await runCli(['rm', '-f', name], { root });
      expect(r.code, r.stderr).toBe(0);
      await until(() => pidsOf(marker).length === 0, 5000);
      if (end === 'stop') {
        expect((await cli(['ps', '-a', '--format', '{{.Names}} {{.Status}}'], { root })).stdout).toMatch(new RegExp(`^${name} Exited`, 'm'));
        expect((await runCli(['rm', name], { root })).code).toBe(0);
      }
      expect(cgroupDirs(`-${id}`)).toEqual([]);
    }
  }, 120_000);
});

describe.runIf(isRoot)('cgroups left by killed runtimes', () => {
  it('container prune removes the empty ones (and older versions\' names), never one in use', async () => {
    const root = tmp('sc-cgreap-');
    const hex = () => Math.floor(Math.random() * 2 ** 48).toString(16).padStart(12, '0');
    const base = '/sys/fs/cgroup/pids';
    if (!existsSync(base)) return;
    const fresh = `${base}/stagecraft/sc-${hex()}`; // a tied runtime killed with its caller
    const legacy = `${base}/stagecraft-${hex()}`; // an older version's name
    const busy = `${base}/stagecraft/sc-${hex()}`; // still has a process
    for (const d of [fresh, legacy, busy]) mkdirSync(d, { recursive: true });
    const marker = `sleep ${50_000_000 + Math.floor(Math.random() * 9_000_000)}`;
    markers.push(marker);
    const sl = spawn('sleep', [marker.split(' ')[1]!], { stdio: 'ignore' });
    writeFileSync(`${busy}/cgroup.procs`, String(sl.pid));
    try {
      // younger than 10 s: a runtime may be about to move a container in
      await cli(['container', 'prune', '-f'], { root });
      expect([fresh, legacy, busy].every((d) => existsSync(d))).toBe(true);
      await sleep(10_500);
      await cli(['container', 'prune', '-f'], { root });
      expect(existsSync(fresh)).toBe(false);
      expect(existsSync(legacy)).toBe(false);
      expect(existsSync(busy)).toBe(true);
    } finally {
      sl.kill('SIGKILL');
      await new Promise((r) => sl.once('close', r));
      await sleep(100);
      for (const d of [fresh, legacy, busy]) try { rmdirSync(d); } catch { /* gone */ }
    }
  }, 60_000);
});
